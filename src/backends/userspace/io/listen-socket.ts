// A service port's listening socket for the kernel relay engine (relay-engine.ts): non-blocking,
// SO_REUSEADDR (a restarted worker binds the port again while old connections sit in TIME_WAIT),
// TCP_NODELAY, bound and listening, with the port the kernel chose when asked for 0.
import * as c from '../../../../native/libc-sockets.ts';
import { decodeSockaddr, encodeSockaddr, SOCKADDR_MAX } from '../sockaddr.ts';
import { SOCK_FLAGS } from './relay-dialer.ts';

export type ListenResult =
  | { readonly ok: true; readonly fd: number; readonly port: number }
  | { readonly ok: false; readonly syscall: string; readonly errno: number };

const BACKLOG = 4096;
const one = new Int32Array([1]);
const addr = new Uint8Array(SOCKADDR_MAX);
const addrLen = new Uint32Array(1);

export function openListenSocket(ip: string, port: number): ListenResult {
  const fail = (syscall: string, ret: number, fd: number): ListenResult => {
    if (fd >= 0) c.close(fd);
    return { ok: false, syscall, errno: -ret };
  };
  const sa = encodeSockaddr(ip, port);
  const fd = c.socket(ip.includes(':') ? c.AF_INET6 : c.AF_INET, c.SOCK_STREAM | SOCK_FLAGS, 0);
  if (fd < 0) return fail('socket', fd, -1);
  let r = c.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, one);
  if (r < 0) return fail('setsockopt', r, fd);
  // Accepted sockets inherit TCP_NODELAY from the listener (Linux clones the listening socket),
  // which saves a setsockopt per connection.
  if ((r = c.setsockopt(fd, c.IPPROTO_TCP, c.TCP_NODELAY, one)) < 0) return fail('setsockopt', r, fd);
  if ((r = c.bind(fd, sa)) < 0) return fail('bind', r, fd);
  if ((r = c.listen(fd, BACKLOG)) < 0) return fail('listen', r, fd);
  addrLen[0] = SOCKADDR_MAX;
  if ((r = c.getsockname(fd, addr, addrLen)) < 0) return fail('getsockname', r, fd);
  return { ok: true, fd, port: decodeSockaddr(addr, addrLen[0]).port };
}
