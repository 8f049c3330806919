// The relay engine's data path (relay-engine.ts runs the loop, accepts and dials): readiness on
// the two sockets of a connected pair becomes recv → one shared buffer → send (or splice(2)
// through a pipe per direction), with back-pressure and half-close, and closing a pair.
//
// Back-pressure: a send that takes less than it was given keeps the remainder (a copy, at most one
// buffer), stops reading the source and waits for EPOLLOUT on the sink. Half-close: a FIN read on
// one side becomes shutdown(SHUT_WR) on the other once its remainder is flushed; both FINs relayed
// and nothing owed closes the pair. Every socket is level-triggered.
import * as c from '../../../../native/libc-sockets.ts';
import { CLIENT, EOF_READ, SHUT_PENDING, SHUT_SENT, UPSTREAM, type FdTable } from './fd-table.ts';

export interface PairHooks {
  /** The pair of client fd `cfd` is closing (its service's count, its deadline). */
  closed(cfd: number): void;
  /** Both FINs are in but bytes are still owed to a side: bound the wait (the drain timeout). */
  owedAfterFins(cfd: number): void;
  log(level: 'warn' | 'error', msg: string, fields: Record<string, unknown>): void;
}

export interface RelayPairsOptions {
  readonly ep: number;
  readonly table: FdTable;
  readonly bufferSize: number;
  readonly splice: boolean;
  readonly hooks: PairHooks;
}

/** #spliceIn results besides recv's: bytes moved (nothing more to do), or the pair must close. */
const SPLICED = -1_000_000;
const CLOSE = -1_000_001;

export class RelayPairs {
  readonly #ep: number;
  readonly #t: FdTable;
  readonly #buf: Uint8Array;
  readonly #splice: boolean;
  readonly #hooks: PairHooks;
  readonly #ctl = new Uint8Array(c.EPOLL_EVENT_SIZE);
  readonly #ctl32 = new Uint32Array(this.#ctl.buffer);
  readonly #linger0 = new Int32Array([1, 0]);
  readonly #pipeFds = new Int32Array(2);

  constructor(o: RelayPairsOptions) {
    this.#ep = o.ep;
    this.#t = o.table;
    this.#buf = new Uint8Array(o.bufferSize);
    this.#splice = o.splice;
    this.#hooks = o.hooks;
  }

  /** Readiness on a relaying pair's side `fd` (`cfd` its client fd). */
  relay(fd: number, cfd: number, events: number): void {
    const t = this.#t;
    if ((events & c.EPOLLERR) !== 0) return this.closePair(cfd, false);
    if ((events & c.EPOLLOUT) !== 0 && !this.#flush(fd)) return;
    if ((events & c.EPOLLIN) !== 0 && ((t.ev[fd] ?? 0) & c.EPOLLIN) !== 0) return this.#read(fd, cfd);
    // Only HUP, and nothing watched on fd now: both directions of fd are done (or its reading is
    // paused) while its peer still flushes, and level-triggered HUP would repeat on every wait,
    // so stop watching fd until a flush asks for EPOLLIN again. The check is on the current
    // mask, not the event's: a flush earlier in this batch may have just re-armed EPOLLIN.
    if ((events & (c.EPOLLIN | c.EPOLLOUT)) === 0 && (events & c.EPOLLHUP) !== 0 && t.ev[fd] === 0) {
      c.epollCtl(this.#ep, c.EPOLL_CTL_DEL, fd, null);
      t.ev[fd] = 0;
      t.registered[fd] = 0;
    }
  }

  #read(fd: number, cfd: number): void {
    const t = this.#t;
    const dst = t.peer[fd] ?? -1;
    const n = this.#splice ? this.#spliceIn(fd, dst) : c.recv(fd, this.#buf, this.#buf.byteLength, 0);
    if (n === SPLICED) return;
    if (n === CLOSE) return this.closePair(cfd, false);
    if (n > 0) {
      let m = c.send(dst, this.#buf, n, c.MSG_NOSIGNAL);
      if (m === n) return;
      if (m < 0) {
        if (m !== -c.EAGAIN) return this.closePair(cfd, false);
        m = 0;
      }
      // The sink is full: keep the rest, stop reading the source until it is flushed.
      t.pending[dst] = this.#buf.slice(m, n);
      this.setEvents(fd, (t.ev[fd] ?? 0) & ~c.EPOLLIN);
      this.setEvents(dst, (t.ev[dst] ?? 0) | c.EPOLLOUT);
      return;
    }
    if (n < 0) {
      if (n !== -c.EAGAIN && n !== -c.EINTR) this.closePair(cfd, false);
      return;
    }
    // FIN: forward it once everything read before it has been sent.
    t.flags[fd] = (t.flags[fd] ?? 0) | EOF_READ;
    // The second FIN with nothing owed either way (the end of every request-response connection):
    // close both now. close() sends the FIN a shutdown would, so neither that shutdown nor
    // unwatching fd is worth a syscall.
    if (((t.flags[dst] ?? 0) & EOF_READ) !== 0 && !this.#owed(dst) && !this.#owed(fd))
      return this.closePair(cfd, false);
    this.setEvents(fd, (t.ev[fd] ?? 0) & ~c.EPOLLIN);
    if (this.#owed(dst)) t.flags[dst] = (t.flags[dst] ?? 0) | SHUT_PENDING;
    else this.#shutWr(dst);
    this.#checkDone(cfd);
  }

  #owed(fd: number): boolean {
    return this.#t.pending[fd] !== undefined || (this.#t.inPipe[fd] ?? 0) > 0;
  }

  /**
   * splice mode: the source's bytes into its pipe and on to dst. Returns what recv would (bytes,
   * 0 at EOF, -errno), SPLICED when it moved bytes (all, or the rest is owed from the pipe), or
   * CLOSE on a failure that ends the pair.
   */
  #spliceIn(fd: number, dst: number): number {
    const t = this.#t;
    if ((t.pipeW[fd] ?? -1) < 0) {
      if (c.pipe2(this.#pipeFds, c.O_NONBLOCK | c.O_CLOEXEC) < 0) return CLOSE;
      t.pipeR[fd] = this.#pipeFds[0] ?? -1;
      t.pipeW[fd] = this.#pipeFds[1] ?? -1;
    }
    const n = c.splice(fd, t.pipeW[fd] ?? -1, this.#buf.byteLength, c.SPLICE_F_MOVE | c.SPLICE_F_NONBLOCK);
    if (n <= 0) return n;
    let m = c.splice(t.pipeR[fd] ?? -1, dst, n, c.SPLICE_F_MOVE | c.SPLICE_F_NONBLOCK);
    if (m === n) return SPLICED;
    if (m < 0) {
      if (m !== -c.EAGAIN) return CLOSE;
      m = 0;
    }
    t.inPipe[dst] = n - m;
    this.setEvents(fd, (t.ev[fd] ?? 0) & ~c.EPOLLIN);
    this.setEvents(dst, (t.ev[dst] ?? 0) | c.EPOLLOUT);
    return SPLICED;
  }

  /** EPOLLOUT on a sink holding a remainder. Returns false when the pair was closed. */
  #flush(fd: number): boolean {
    const t = this.#t;
    const p = t.pending[fd];
    const inPipe = t.inPipe[fd] ?? 0;
    if (!p && inPipe === 0) return true;
    const want = p ? p.byteLength : inPipe;
    const m = p
      ? c.send(fd, p, want, c.MSG_NOSIGNAL)
      : c.splice(t.pipeR[t.peer[fd] ?? -1] ?? -1, fd, want, c.SPLICE_F_MOVE | c.SPLICE_F_NONBLOCK);
    if (m < 0 && m !== -c.EAGAIN) {
      this.closePair(t.role[fd] === CLIENT ? fd : (t.peer[fd] ?? -1), false);
      return false;
    }
    if (m < want) {
      if (m > 0 && p) t.pending[fd] = p.subarray(m);
      else if (m > 0) t.inPipe[fd] = inPipe - m;
      return true;
    }
    t.pending[fd] = undefined;
    t.inPipe[fd] = 0;
    this.setEvents(fd, (t.ev[fd] ?? 0) & ~c.EPOLLOUT);
    const src = t.peer[fd] ?? -1;
    if (((t.flags[src] ?? 0) & EOF_READ) === 0) this.setEvents(src, (t.ev[src] ?? 0) | c.EPOLLIN);
    if (((t.flags[fd] ?? 0) & SHUT_PENDING) !== 0) this.#shutWr(fd);
    const cfd = t.role[fd] === CLIENT ? fd : src;
    return !this.#checkDone(cfd);
  }

  #shutWr(fd: number): void {
    const t = this.#t;
    t.flags[fd] = ((t.flags[fd] ?? 0) & ~SHUT_PENDING) | SHUT_SENT;
    // ENOTCONN when the peer has already gone: the close that follows settles it.
    c.shutdown(fd, c.SHUT_WR);
  }

  /** Both FINs relayed and nothing left to send: close the pair. Returns whether it closed. */
  #checkDone(cfd: number): boolean {
    const t = this.#t;
    const ufd = t.peer[cfd] ?? -1;
    if (((t.flags[cfd] ?? 0) & (t.flags[ufd] ?? 0) & EOF_READ) === 0) return false;
    if (this.#owed(cfd) || this.#owed(ufd)) {
      // Bytes still owed to a side that may never read them: bounded by the drain timeout.
      this.#hooks.owedAfterFins(cfd);
      return false;
    }
    this.closePair(cfd, false);
    return true;
  }

  /** Close both sides of a pair (the client with a reset when `reset`: no endpoint would take it). */
  closePair(cfd: number, reset: boolean): void {
    const t = this.#t;
    if (t.role[cfd] !== CLIENT) return;
    this.#hooks.closed(cfd);
    const ufd = t.peer[cfd] ?? -1;
    if (ufd >= 0 && t.role[ufd] === UPSTREAM) this.closeFd(ufd);
    if (reset) c.setsockopt(cfd, c.SOL_SOCKET, c.SO_LINGER, this.#linger0);
    this.closeFd(cfd);
  }

  closeFd(fd: number): void {
    const t = this.#t;
    c.close(fd);
    if ((t.pipeR[fd] ?? -1) >= 0) {
      c.close(t.pipeR[fd] ?? -1);
      c.close(t.pipeW[fd] ?? -1);
    }
    t.release(fd);
  }

  setEvents(fd: number, events: number): void {
    const t = this.#t;
    if (t.registered[fd] === 1 && t.ev[fd] === events) return;
    const D = c.EPOLL_DATA_OFFSET >> 2;
    this.#ctl32[0] = events;
    this.#ctl32[D] = fd;
    this.#ctl32[D + 1] = t.gen[fd] ?? 0;
    const op = t.registered[fd] === 1 ? c.EPOLL_CTL_MOD : c.EPOLL_CTL_ADD;
    const r = c.epollCtl(this.#ep, op, fd, this.#ctl);
    if (r < 0) this.#hooks.log('error', 'userspace: epoll_ctl failed', { fd, errno: -r });
    t.registered[fd] = 1;
    t.ev[fd] = events;
  }
}
