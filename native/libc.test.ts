// The koffi declarations against the host kernel: a netlink socket can be opened, bound and
// closed (nothing in the root namespace changes), and failures surface as named SyscallErrors.
import { describe, expect, it } from 'vitest';
import * as libc from './libc.ts';

describe('libc via koffi', () => {
  it('opens, binds and names a non-blocking netlink socket, and waits on it with poll', async () => {
    const fd = libc.socket(libc.AF_NETLINK, libc.SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, 0);
    try {
      expect(fd).toBeGreaterThan(2);
      const addr = new Uint8Array(12);
      new Uint16Array(addr.buffer, 0, 1)[0] = libc.AF_NETLINK;
      libc.bind(fd, addr);
      const bound = libc.getsockname(fd, 12);
      expect(new Uint16Array(bound.slice(0, 2).buffer)[0]).toBe(libc.AF_NETLINK);
      expect(new Uint32Array(bound.slice(4, 8).buffer)[0]).not.toBe(0); // kernel-assigned port id
      expect(() => libc.recv(fd, new Uint8Array(64), libc.MSG_DONTWAIT)).toThrow(expect.objectContaining({ errnoName: 'EAGAIN' }));
      expect(await libc.pollReadable(fd, 20)).toBe(false);
    } finally {
      libc.close(fd);
    }
  });

  it('raises SyscallError with the errno name', () => {
    let caught: unknown;
    try {
      libc.close(-1);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(libc.SyscallError);
    expect(caught).toMatchObject({ code: 'KP_ERR_NATIVE', syscall: 'close', errno: 9, errnoName: 'EBADF', message: 'close: EBADF' });
    expect(() => libc.socket(libc.AF_NETLINK, libc.SOCK_RAW, 9999)).toThrow(/socket: EPROTONOSUPPORT/);
  });
});
