// IP address text <-> network-order bytes for netlink attributes (IPVS_*_ATTR_ADDR, IFA_LOCAL …).
// Parsing is strict (four-part decimal IPv4 only) so "10.1" is rejected rather than guessed.
import ipaddr from 'ipaddr.js';
import type { IPFamily } from '../model/types.ts';

export const AF_INET = 2;
export const AF_INET6 = 10;

export const afOf = (family: IPFamily): number => (family === 'IPv4' ? AF_INET : AF_INET6);

export function familyOfAf(af: number): IPFamily {
  if (af === AF_INET) return 'IPv4';
  if (af === AF_INET6) return 'IPv6';
  throw new RangeError(`netlink: unsupported address family ${af}`);
}

/** Network-order bytes: 4 for IPv4, 16 for IPv6. Throws a RangeError naming the bad text. */
export function ipToBytes(text: string): Uint8Array {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
  if (ipaddr.IPv6.isValid(text)) return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
  throw new RangeError(`invalid IP address "${text}"`);
}

export function ipFamily(text: string): IPFamily {
  return ipToBytes(text).byteLength === 4 ? 'IPv4' : 'IPv6';
}

/**
 * Text form of an address attribute. The kernel returns IPVS addresses as a 16-byte union with
 * IPv4 in the first 4 bytes (include/uapi/linux/ip_vs.h, union nf_inet_addr), so the family,
 * not the length, decides.
 */
export function bytesToIp(bytes: Uint8Array, family: IPFamily): string {
  if (family === 'IPv4') {
    if (bytes.byteLength < 4) throw new RangeError(`netlink: IPv4 address of ${bytes.byteLength} bytes`);
    return ipaddr.fromByteArray([...bytes.subarray(0, 4)]).toString();
  }
  if (bytes.byteLength < 16) throw new RangeError(`netlink: IPv6 address of ${bytes.byteLength} bytes`);
  return ipaddr.fromByteArray([...bytes.subarray(0, 16)]).toString();
}

/** Canonical text (lower-case, compressed IPv6) so addresses compare as strings. */
export function canonicalIp(text: string): string {
  const b = ipToBytes(text);
  return bytesToIp(b, b.byteLength === 4 ? 'IPv4' : 'IPv6');
}
