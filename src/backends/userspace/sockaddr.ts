// struct sockaddr_in / sockaddr_in6 bytes for the relay engine's libc calls (bind, connect,
// getsockname, getpeername). Pure: the engine encodes each endpoint once, when it is set, not per
// connection.
import { AF_INET, AF_INET6, bytesToIp, ipToBytes } from '../../netlink/ip.ts';

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** Room for either (the kernel writes at most this much for an IP socket). */
export const SOCKADDR_MAX = SOCKADDR_IN6_SIZE;

export interface SocketAddress {
  readonly ip: string;
  readonly port: number;
}

/** sockaddr_in (16 bytes) for IPv4 text, sockaddr_in6 (28 bytes) for IPv6. Throws RangeError on bad input. */
export function encodeSockaddr(ip: string, port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid port ${port}`);
  const addr = ipToBytes(ip);
  const v4 = addr.byteLength === 4;
  const out = new Uint8Array(v4 ? SOCKADDR_IN_SIZE : SOCKADDR_IN6_SIZE);
  const view = new DataView(out.buffer);
  // sa_family is host order (little-endian on every target), sin_port network order.
  view.setUint16(0, v4 ? AF_INET : AF_INET6, true);
  view.setUint16(2, port, false);
  // sin_addr at 4; sin6_flowinfo at 4, sin6_addr at 8, sin6_scope_id at 24 (zero).
  out.set(addr, v4 ? 4 : 8);
  return out;
}

/** The address in a sockaddr the kernel filled (`len` bytes of it). Throws RangeError on another family. */
export function decodeSockaddr(bytes: Uint8Array, len = bytes.byteLength): SocketAddress {
  const view = new DataView(bytes.buffer, bytes.byteOffset, Math.min(len, bytes.byteLength));
  const family = view.byteLength >= 2 ? view.getUint16(0, true) : -1;
  if (family === AF_INET && view.byteLength >= SOCKADDR_IN_SIZE) {
    return { ip: bytesToIp(bytes.subarray(4, 8), 'IPv4'), port: view.getUint16(2, false) };
  }
  if (family === AF_INET6 && view.byteLength >= SOCKADDR_IN6_SIZE) {
    return { ip: bytesToIp(bytes.subarray(8, 24), 'IPv6'), port: view.getUint16(2, false) };
  }
  throw new RangeError(`unsupported socket address (family ${family}, ${len} bytes)`);
}
