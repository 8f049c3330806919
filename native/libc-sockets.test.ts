// The relay engine's koffi declarations against the host kernel, on loopback only: a listening
// socket, a non-blocking connect completed through epoll, bytes both ways, half-close, an eventfd
// wake-up, and failures as negative errnos.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeSockaddr, encodeSockaddr, SOCKADDR_MAX } from '../src/backends/userspace/sockaddr.ts';
import * as c from './libc-sockets.ts';

const opened: number[] = [];
afterEach(() => {
  while (opened.length > 0) c.close(opened.pop() ?? -1);
});
const track = (fd: number): number => {
  expect(fd).toBeGreaterThan(2);
  opened.push(fd);
  return fd;
};
const FLAGS = c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;

/** epoll_wait once; returns [events, fd] of each ready entry. */
function wait(ep: number, timeoutMs: number): [number, number][] {
  const buf = new Uint8Array(8 * c.EPOLL_EVENT_SIZE);
  const n = c.check('epoll_wait', c.epollWait(ep, buf, 8, timeoutMs));
  const v = new DataView(buf.buffer);
  return Array.from({ length: n }, (_, i) => [
    v.getUint32(i * c.EPOLL_EVENT_SIZE, true),
    v.getUint32(i * c.EPOLL_EVENT_SIZE + c.EPOLL_DATA_OFFSET, true),
  ]);
}

function watch(ep: number, fd: number, events: number, op = c.EPOLL_CTL_ADD): void {
  const ev = new Uint8Array(c.EPOLL_EVENT_SIZE);
  const v = new DataView(ev.buffer);
  v.setUint32(0, events, true);
  v.setUint32(c.EPOLL_DATA_OFFSET, fd, true);
  c.check('epoll_ctl', c.epollCtl(ep, op, fd, ev));
}

describe('libc sockets via koffi', () => {
  it('listens, connects without blocking, relays bytes and a half-close through epoll', () => {
    const ep = track(c.check('epoll_create1', c.epollCreate1(c.EPOLL_CLOEXEC)));
    const lfd = track(c.check('socket', c.socket(c.AF_INET, c.SOCK_STREAM | FLAGS, 0)));
    expect(c.setsockopt(lfd, c.IPPROTO_TCP, c.TCP_NODELAY, new Int32Array([1]))).toBe(0);
    expect(c.bind(lfd, encodeSockaddr('127.0.0.1', 0))).toBe(0);
    expect(c.listen(lfd, 16)).toBe(0);
    const addr = new Uint8Array(SOCKADDR_MAX);
    const len = new Uint32Array([SOCKADDR_MAX]);
    expect(c.getsockname(lfd, addr, len)).toBe(0);
    const { ip, port } = decodeSockaddr(addr, len[0]);
    expect(ip).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    expect(c.accept4(lfd, FLAGS)).toBe(-c.EAGAIN);

    const cfd = track(c.check('socket', c.socket(c.AF_INET, c.SOCK_STREAM | FLAGS, 0)));
    expect(c.setsockopt(cfd, c.IPPROTO_TCP, c.TCP_NODELAY, new Int32Array([1]))).toBe(0);
    const r = c.connect(cfd, encodeSockaddr('127.0.0.1', port));
    expect([0, -c.EINPROGRESS]).toContain(r);
    watch(ep, cfd, c.EPOLLOUT);
    expect(wait(ep, 5000)).toEqual([[c.EPOLLOUT, cfd]]);
    const err = new Int32Array(1);
    expect(c.getsockopt(cfd, c.SOL_SOCKET, c.SO_ERROR, err, new Uint32Array([4]))).toBe(0);
    expect(err[0]).toBe(0);

    const sfd = track(c.check('accept4', c.accept4(lfd, FLAGS)));
    // The relay engine relies on accepted sockets inheriting TCP_NODELAY from the listener.
    const nodelay = new Int32Array(1);
    expect(c.getsockopt(sfd, c.IPPROTO_TCP, c.TCP_NODELAY, nodelay, new Uint32Array([4]))).toBe(0);
    expect(nodelay[0]).toBe(1);
    const peer = new Uint8Array(SOCKADDR_MAX);
    const plen = new Uint32Array([SOCKADDR_MAX]);
    expect(c.getpeername(sfd, peer, plen)).toBe(0);
    expect(decodeSockaddr(peer, plen[0]).ip).toBe('127.0.0.1');

    const msg = new TextEncoder().encode('hello');
    expect(c.send(cfd, msg, msg.byteLength, c.MSG_NOSIGNAL)).toBe(5);
    expect(c.shutdown(cfd, c.SHUT_WR)).toBe(0);
    watch(ep, cfd, 0, c.EPOLL_CTL_MOD);
    watch(ep, sfd, c.EPOLLIN);
    expect(wait(ep, 5000)).toEqual([[c.EPOLLIN, sfd]]);
    const buf = new Uint8Array(64);
    expect(c.recv(sfd, buf, 64, 0)).toBe(5);
    expect(new TextDecoder().decode(buf.subarray(0, 5))).toBe('hello');
    expect(c.recv(sfd, buf, 64, 0)).toBe(0); // the FIN
    expect(c.recv(cfd, buf, 64, c.MSG_DONTWAIT)).toBe(-c.EAGAIN);
  });

  it('wakes epoll_wait through an eventfd', () => {
    const ep = track(c.check('epoll_create1', c.epollCreate1(c.EPOLL_CLOEXEC)));
    const efd = track(c.check('eventfd', c.eventfd(0, c.EFD_CLOEXEC | c.EFD_NONBLOCK)));
    watch(ep, efd, c.EPOLLIN);
    expect(wait(ep, 0)).toEqual([]);
    const one = new Uint8Array(8);
    one[0] = 1;
    expect(c.write(efd, one, 8)).toBe(8);
    expect(c.write(efd, one, 8)).toBe(8);
    expect(wait(ep, 5000)).toEqual([[c.EPOLLIN, efd]]);
    const got = new Uint8Array(8);
    expect(c.read(efd, got, 8)).toBe(8);
    expect(got[0]).toBe(2);
    expect(c.read(efd, got, 8)).toBe(-c.EAGAIN);
  });

  it.each([
    {
      what: 'connect to a closed port',
      run: () => connectRefused(),
      want: [-c.ECONNREFUSED, -c.EINPROGRESS],
    },
    { what: 'close of a bad fd', run: () => c.close(-1), want: [-9] },
    { what: 'socket with a bad protocol', run: () => c.socket(c.AF_INET, c.SOCK_STREAM, 9999), want: [-22] },
  ])('$what returns a negative errno', ({ run, want }) => {
    expect(want).toContain(run());
  });

  it('check() turns a negative errno into a SyscallError', () => {
    expect(() => c.check('bind', -98)).toThrow(
      expect.objectContaining({ code: 'KP_ERR_NATIVE', syscall: 'bind', errnoName: 'EADDRINUSE' }),
    );
    expect(c.check('bind', 0)).toBe(0);
  });
});

function connectRefused(): number {
  // A port just released: nothing listens there.
  const lfd = track(c.check('socket', c.socket(c.AF_INET, c.SOCK_STREAM | FLAGS, 0)));
  c.check('bind', c.bind(lfd, encodeSockaddr('127.0.0.1', 0)));
  const addr = new Uint8Array(SOCKADDR_MAX);
  const len = new Uint32Array([SOCKADDR_MAX]);
  c.check('getsockname', c.getsockname(lfd, addr, len));
  const fd = track(c.check('socket', c.socket(c.AF_INET, c.SOCK_STREAM | FLAGS, 0)));
  return c.connect(fd, encodeSockaddr('127.0.0.1', decodeSockaddr(addr, len[0]).port));
}
