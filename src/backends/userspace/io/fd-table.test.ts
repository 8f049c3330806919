import { describe, expect, it } from 'vitest';
import { makeTarget } from '../load-balancer.ts';
import { CLIENT, FREE, FdTable, UPSTREAM } from './fd-table.ts';

describe('FdTable', () => {
  it.each([
    { what: 'an fd inside the table', initial: 16, fd: 5, size: 16 },
    { what: 'an fd past the end doubles the table', initial: 16, fd: 20, size: 32 },
    { what: 'an fd far past the end grows to fit it', initial: 16, fd: 100, size: 101 },
  ])('open: $what', ({ initial, fd, size }) => {
    const t = new FdTable(initial);
    t.open(3, UPSTREAM);
    t.peer[3] = fd;
    t.open(fd, CLIENT);
    expect(t.size).toBe(size);
    expect([t.role[fd], t.peer[fd], t.svc[fd], t.pipeR[fd], t.ev[fd]]).toEqual([CLIENT, -1, -1, -1, 0]);
    // Growing kept what was there.
    expect([t.role[3], t.peer[3]]).toEqual([UPSTREAM, fd]);
    expect(t.target).toHaveLength(size);
    expect(t.isOpen(fd)).toBe(true);
  });

  it('release forgets the slot and bumps its generation, so stale epoll events are dropped', () => {
    const t = new FdTable(8);
    t.open(4, CLIENT);
    t.peer[4] = 5;
    t.target[4] = makeTarget('10.244.0.1', 80);
    t.pending[4] = new Uint8Array(3);
    t.inPipe[4] = 7;
    const gen = t.gen[4];
    t.release(4);
    expect([t.role[4], t.peer[4], t.target[4], t.pending[4], t.inPipe[4]]).toEqual([FREE, -1, undefined, undefined, 0]);
    expect(t.gen[4]).toBe((gen ?? 0) + 1);
    expect(t.isOpen(4)).toBe(false);
    t.release(-1); // nothing to forget: no throw
    t.release(99);
  });

  it('reopening a released fd starts from a clean slot', () => {
    const t = new FdTable(8);
    t.open(6, CLIENT);
    t.flags[6] = 7;
    t.state[6] = 2;
    t.registered[6] = 1;
    t.release(6);
    t.open(6, UPSTREAM);
    expect([t.role[6], t.flags[6], t.state[6], t.registered[6]]).toEqual([UPSTREAM, 0, 0, 0]);
  });
});
