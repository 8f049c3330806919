// The libc calls of the userspace mode's TCP relay engine (src/backends/userspace/io/relay-worker.ts):
// TCP sockets, epoll and an eventfd, declared through koffi. The engine runs its own event loop
// in a worker thread, so these are synchronous calls (epoll_wait blocks that thread, never the
// daemon's main thread).
//
// Hot-path calls return the result or a negative errno instead of throwing: EAGAIN and
// EINPROGRESS are ordinary answers there, and a throw + catch per would-block read would cost more
// than the call. `check` turns a result into a SyscallError where a failure is exceptional.
import koffi from 'koffi';
import { SyscallError } from './libc.ts';

const lib = koffi.load('libc.so.6');

// ssize_t and socklen_t as on LP64 Linux (x86_64, arm64).
const cSocket = lib.func('int socket(int domain, int type, int protocol)');
const cSetsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)');
const cGetsockopt = lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)');
const cBind = lib.func('int bind(int fd, const void *addr, uint32_t addrlen)');
const cListen = lib.func('int listen(int fd, int backlog)');
const cGetsockname = lib.func('int getsockname(int fd, void *addr, void *addrlen)');
const cGetpeername = lib.func('int getpeername(int fd, void *addr, void *addrlen)');
const cAccept4 = lib.func('int accept4(int fd, void *addr, void *addrlen, int flags)');
const cConnect = lib.func('int connect(int fd, const void *addr, uint32_t addrlen)');
const cRecv = lib.func('long recv(int fd, void *buf, size_t len, int flags)');
const cSend = lib.func('long send(int fd, const void *buf, size_t len, int flags)');
const cShutdown = lib.func('int shutdown(int fd, int how)');
const cClose = lib.func('int close(int fd)');
const cEpollCreate1 = lib.func('int epoll_create1(int flags)');
const cEpollCtl = lib.func('int epoll_ctl(int epfd, int op, int fd, void *event)');
const cEpollWait = lib.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)');
const cEventfd = lib.func('int eventfd(unsigned int initval, int flags)');
const cRead = lib.func('long read(int fd, void *buf, size_t len)');
const cWrite = lib.func('long write(int fd, const void *buf, size_t len)');
const cPipe2 = lib.func('int pipe2(void *fds, int flags)');
const cSplice = lib.func(
  'long splice(int fdIn, void *offIn, int fdOut, void *offOut, size_t len, unsigned int flags)',
);

// <sys/socket.h>, <netinet/in.h>, <netinet/tcp.h>, <sys/epoll.h>, <sys/eventfd.h>, <errno.h>
// (generic Linux values, the same on x86_64 and arm64).
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_LINGER = 13;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const EPOLL_CLOEXEC = 0o2000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const EINTR = 4;
export const EAGAIN = 11;
export const EINPROGRESS = 115;
export const ECONNREFUSED = 111;
export const ECONNABORTED = 103;

/**
 * struct epoll_event is packed on x86_64 (uint32 events + uint64 data = 12 bytes) and naturally
 * aligned elsewhere (16 bytes): <sys/epoll.h> __EPOLL_PACKED.
 */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
/** Offset of `data` in struct epoll_event. */
export const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

/** The result, or a SyscallError naming the call when it is negative (a `-errno` from below). */
export function check(syscall: string, ret: number): number {
  if (ret < 0) throw new SyscallError(syscall, -ret);
  return ret;
}

function r(ret: number | bigint): number {
  const n = Number(ret);
  return n < 0 ? -koffi.errno() : n;
}

export const socket = (domain: number, type: number, protocol: number): number =>
  r(cSocket(domain, type, protocol) as number);
export const setsockopt = (fd: number, level: number, name: number, value: Uint8Array | Int32Array): number =>
  r(cSetsockopt(fd, level, name, value, value.byteLength) as number);
/** getsockopt into `value`; `len` (one uint32) holds its size on entry and the result's on return. */
export const getsockopt = (
  fd: number,
  level: number,
  name: number,
  value: Int32Array,
  len: Uint32Array,
): number => r(cGetsockopt(fd, level, name, value, len) as number);
export const bind = (fd: number, addr: Uint8Array): number => r(cBind(fd, addr, addr.byteLength) as number);
export const listen = (fd: number, backlog: number): number => r(cListen(fd, backlog) as number);
export const getsockname = (fd: number, addr: Uint8Array, len: Uint32Array): number =>
  r(cGetsockname(fd, addr, len) as number);
export const getpeername = (fd: number, addr: Uint8Array, len: Uint32Array): number =>
  r(cGetpeername(fd, addr, len) as number);
/** accept4 without the peer's address (getpeername when it is needed). */
export const accept4 = (fd: number, flags: number): number => r(cAccept4(fd, null, null, flags) as number);
export const connect = (fd: number, addr: Uint8Array): number =>
  r(cConnect(fd, addr, addr.byteLength) as number);
export const recv = (fd: number, buf: Uint8Array, len: number, flags: number): number =>
  r(cRecv(fd, buf, len, flags) as number);
export const send = (fd: number, buf: Uint8Array, len: number, flags: number): number =>
  r(cSend(fd, buf, len, flags) as number);
export const shutdown = (fd: number, how: number): number => r(cShutdown(fd, how) as number);
export const close = (fd: number): number => r(cClose(fd) as number);
export const epollCreate1 = (flags: number): number => r(cEpollCreate1(flags) as number);
/** `event` is one struct epoll_event (EPOLL_EVENT_SIZE bytes), or null for EPOLL_CTL_DEL. */
export const epollCtl = (epfd: number, op: number, fd: number, event: Uint8Array | null): number =>
  r(cEpollCtl(epfd, op, fd, event) as number);
/** Fills `events` (maxevents × EPOLL_EVENT_SIZE bytes); returns how many are ready. Blocks up to `timeoutMs` (-1: forever). */
export const epollWait = (epfd: number, events: Uint8Array, maxevents: number, timeoutMs: number): number =>
  r(cEpollWait(epfd, events, maxevents, timeoutMs) as number);
export const eventfd = (initval: number, flags: number): number => r(cEventfd(initval, flags) as number);
export const read = (fd: number, buf: Uint8Array, len: number): number => r(cRead(fd, buf, len) as number);
export const write = (fd: number, buf: Uint8Array, len: number): number => r(cWrite(fd, buf, len) as number);
/** pipe2 into `fds` (two ints: read end, write end). */
export const pipe2 = (fds: Int32Array, flags: number): number => r(cPipe2(fds, flags) as number);
/** splice between a socket and a pipe (no offsets); returns bytes moved, 0 at EOF, or -errno. */
export const splice = (fdIn: number, fdOut: number, len: number, flags: number): number =>
  r(cSplice(fdIn, null, fdOut, null, len, flags) as number);
