// The kernel relay engine's accepting (relay-engine.ts): takes a batch of connections off one
// listening socket, refuses those over the service's connection limit (RST, as upstream's
// userspace proxier closes them), and hands the rest to the dialer. A failed accept for want of fds
// or memory pauses the listener instead of spinning on it.
import * as c from '../../../../native/libc-sockets.ts';
import { STAT_ACCEPT_FAILURES, STAT_ACCEPTED, STAT_CONNECTIONS, STAT_REJECTED } from '../relay-control.ts';
import { SOCK_FLAGS, type EngineService, type RelayDialer } from './relay-dialer.ts';
import type { RelayPairs } from './relay-pairs.ts';
import { CLIENT, DIALING, type FdTable } from './fd-table.ts';

const ACCEPT_BATCH = 64;
/** How long a listener is left alone after accept failed for want of fds or memory. */
const ACCEPT_PAUSE_MS = 100;

export interface AcceptorDeps {
  readonly table: FdTable;
  readonly pairs: RelayPairs;
  readonly dialer: RelayDialer;
  readonly arm: (fd: number, ms: number) => void;
  readonly log: (level: 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
}

export class RelayAcceptor {
  readonly #d: AcceptorDeps;
  readonly #linger0 = new Int32Array([1, 0]);

  constructor(d: AcceptorDeps) {
    this.#d = d;
  }

  /** Accept what `lfd` (the listener of service `s`) has queued, up to one batch. */
  accept(lfd: number, s: EngineService): void {
    const { table: t, pairs, dialer } = this.#d;
    for (let i = 0; i < ACCEPT_BATCH; i++) {
      const fd = c.accept4(lfd, SOCK_FLAGS);
      if (fd < 0) {
        if (fd === -c.EAGAIN || fd === -c.EINTR || fd === -c.ECONNABORTED) return;
        // EMFILE, ENFILE, ENOBUFS: the pending connection stays queued and a level-triggered
        // listener would report it again at once. Stop watching the listener for a while (a
        // busy loop and a log flood otherwise); clients wait in the backlog meanwhile.
        Atomics.add(s.stats, STAT_ACCEPT_FAILURES, 1);
        this.#d.log('error', 'userspace: accept failed, pausing the listener', {
          service: s.name,
          errno: -fd,
          pauseMs: ACCEPT_PAUSE_MS,
        });
        pairs.setEvents(lfd, 0);
        this.#d.arm(lfd, ACCEPT_PAUSE_MS);
        return;
      }
      if ((s.stats[STAT_CONNECTIONS] ?? 0) >= s.max) {
        Atomics.add(s.stats, STAT_REJECTED, 1);
        c.setsockopt(fd, c.SOL_SOCKET, c.SO_LINGER, this.#linger0);
        c.close(fd);
        continue;
      }
      Atomics.add(s.stats, STAT_ACCEPTED, 1);
      Atomics.add(s.stats, STAT_CONNECTIONS, 1);
      t.open(fd, CLIENT);
      t.svc[fd] = t.svc[lfd] ?? 0;
      t.state[fd] = DIALING;
      t.attempt[fd] = 0;
      dialer.dial(fd, s);
    }
  }
}
