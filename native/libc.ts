// The libc calls the netlink shell needs, declared through koffi (ffi-napi no longer builds on
// current Node). Nothing else belongs here: every foreign call of the project lives in native/.
//
// Sockets are opened non-blocking; the only call that may wait is poll(2), and it runs on koffi's
// async worker with a bounded timeout, so the event loop is never blocked by the kernel.
import koffi from 'koffi';
import { KubeProxyError } from '../src/errors.ts';
import { errnoName } from '../src/netlink/errno.ts';

/** A failed system call; `errno` is positive and `errnoName` like `EAGAIN`. */
export class SyscallError extends KubeProxyError {
  readonly syscall: string;
  readonly errno: number;
  readonly errnoName: string;
  constructor(syscall: string, errno: number) {
    super('KP_ERR_NATIVE', `${syscall}: ${errnoName(errno)}`);
    this.syscall = syscall;
    this.errno = errno;
    this.errnoName = errnoName(errno);
  }
}

const lib = koffi.load('libc.so.6');

// ssize_t is intptr_t on every Linux ABI we run on (LP64).
const cSocket = lib.func('int socket(int domain, int type, int protocol)');
const cBind = lib.func('int bind(int fd, const void *addr, uint32_t addrlen)');
const cGetsockname = lib.func('int getsockname(int fd, void *addr, void *addrlen)');
const cSetsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)');
const cSendto = lib.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)');
const cRecvfrom = lib.func('intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)');
const cPoll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
const cClose = lib.func('int close(int fd)');

// <sys/socket.h>, <linux/socket.h>, <asm-generic/socket.h>, <poll.h> (x86_64/arm64 values).
export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x1;

function check(syscall: string, ret: number | bigint): number {
  const n = Number(ret);
  if (n < 0) throw new SyscallError(syscall, koffi.errno());
  return n;
}

export function socket(domain: number, type: number, protocol: number): number {
  return check('socket', cSocket(domain, type, protocol) as number);
}

export function bind(fd: number, addr: Uint8Array): void {
  check('bind', cBind(fd, addr, addr.byteLength) as number);
}

/** Returns the bound address bytes (at most `size`). */
export function getsockname(fd: number, size: number): Uint8Array {
  const addr = new Uint8Array(size);
  const len = new Uint32Array([size]);
  check('getsockname', cGetsockname(fd, addr, len) as number);
  return addr.subarray(0, Math.min(size, len[0] ?? 0));
}

export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const v = new Int32Array([value]);
  check(`setsockopt(${level},${name})`, cSetsockopt(fd, level, name, v, 4) as number);
}

/** Sends one datagram to `addr`; returns bytes sent. Throws SyscallError (EAGAIN when full). */
export function sendto(fd: number, data: Uint8Array, flags: number, addr: Uint8Array): number {
  return check('sendto', cSendto(fd, data, data.byteLength, flags, addr, addr.byteLength) as number);
}

/**
 * Receives into `buf`; returns the datagram's length, which with MSG_TRUNC can exceed the buffer
 * (how the caller learns to grow it). Throws SyscallError, EAGAIN when nothing is queued.
 */
export function recv(fd: number, buf: Uint8Array, flags: number): number {
  return check('recvfrom', cRecvfrom(fd, buf, buf.byteLength, flags, null, null) as number);
}

/**
 * Waits up to `timeoutMs` (bounded by the caller) for `fd` to become readable, on koffi's worker
 * thread. Resolves true when readable; false on timeout or EINTR (errno is not reliable across
 * the async call, and retrying is the right answer to both).
 */
export function pollReadable(fd: number, timeoutMs: number): Promise<boolean> {
  // struct pollfd { int fd; short events; short revents; } in host byte order.
  const pfd = new Int32Array(2);
  pfd[0] = fd;
  new Int16Array(pfd.buffer)[2] = POLLIN;
  return new Promise((resolve, reject) => {
    cPoll.async(pfd, 1, Math.max(0, Math.floor(timeoutMs)), (err: unknown, ret: number) => {
      if (err) reject(new KubeProxyError('KP_ERR_NATIVE', 'poll: async call failed', { cause: err }));
      else resolve(ret > 0);
    });
  });
}

export function close(fd: number): void {
  check('close', cClose(fd) as number);
}
