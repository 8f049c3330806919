// The relay engine's per-connection state, one slot per file descriptor in typed arrays (fds are
// small dense integers the kernel reuses), so a connection costs no JS object and nothing for the
// garbage collector to trace; the arrays double when a larger fd shows up.
import type { Target } from '../load-balancer.ts';

// role
export const FREE = 0;
export const LISTENER = 1;
export const CLIENT = 2;
export const UPSTREAM = 3;
export const WAKE = 4;
// state (client fds)
export const DIALING = 0;
export const RELAYING = 1;
export const DRAINING = 2;
// flags
/** The fd's FIN has been read. */
export const EOF_READ = 1;
/** shutdown(SHUT_WR) is owed to the fd once its pending remainder is flushed. */
export const SHUT_PENDING = 2;
/** shutdown(SHUT_WR) was sent to the fd. */
export const SHUT_SENT = 4;

export class FdTable {
  size = 0;
  role = new Uint8Array(0);
  state = new Uint8Array(0);
  flags = new Uint8Array(0);
  attempt = new Uint8Array(0);
  registered = new Uint8Array(0);
  ev = new Uint32Array(0);
  /** Bumped when the fd is closed; epoll events carry it, so a stale event for a reused fd is dropped. */
  gen = new Uint32Array(0);
  peer = new Int32Array(0);
  svc = new Int32Array(0);
  deadline = new Float64Array(0);
  /** splice mode: the pipe carrying bytes read from the fd (read end, write end), or -1. */
  pipeR = new Int32Array(0);
  pipeW = new Int32Array(0);
  /** splice mode: bytes owed to the fd still in its source's pipe. */
  inPipe = new Int32Array(0);
  /** The endpoint a client fd was sent to (shared objects owned by the load balancer). */
  target: (Target | undefined)[] = [];
  /** Bytes owed to the fd (the part of one read its send did not take). */
  pending: (Uint8Array | undefined)[] = [];

  constructor(initial = 1024) {
    this.#grow(initial);
  }

  /** Take the slot of a newly opened fd. */
  open(fd: number, role: number): void {
    if (fd >= this.size) this.#grow(Math.max(fd + 1, this.size * 2));
    this.role[fd] = role;
    this.state[fd] = 0;
    this.flags[fd] = 0;
    this.attempt[fd] = 0;
    this.registered[fd] = 0;
    this.ev[fd] = 0;
    this.peer[fd] = -1;
    this.svc[fd] = -1;
  }

  /** The fd is open and has a role; with it its peer and pipes are in use. */
  isOpen(fd: number): boolean {
    return fd >= 0 && fd < this.size && this.role[fd] !== FREE;
  }

  /** The fd was closed (its pipe too): forget it, and invalidate events still queued for it. */
  release(fd: number): void {
    if (fd < 0 || fd >= this.size) return;
    this.role[fd] = FREE;
    this.registered[fd] = 0;
    this.peer[fd] = -1;
    this.gen[fd] = ((this.gen[fd] ?? 0) + 1) >>> 0;
    this.target[fd] = undefined;
    this.pending[fd] = undefined;
    this.pipeR[fd] = -1;
    this.pipeW[fd] = -1;
    this.inPipe[fd] = 0;
  }

  #grow(n: number): void {
    const copy = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.role = copy(this.role, (k) => new Uint8Array(k));
    this.state = copy(this.state, (k) => new Uint8Array(k));
    this.flags = copy(this.flags, (k) => new Uint8Array(k));
    this.attempt = copy(this.attempt, (k) => new Uint8Array(k));
    this.registered = copy(this.registered, (k) => new Uint8Array(k));
    this.ev = copy(this.ev, (k) => new Uint32Array(k));
    this.gen = copy(this.gen, (k) => new Uint32Array(k));
    this.peer = copy(this.peer, (k) => new Int32Array(k).fill(-1));
    this.svc = copy(this.svc, (k) => new Int32Array(k).fill(-1));
    this.deadline = copy(this.deadline, (k) => new Float64Array(k));
    this.pipeR = copy(this.pipeR, (k) => new Int32Array(k).fill(-1));
    this.pipeW = copy(this.pipeW, (k) => new Int32Array(k).fill(-1));
    this.inPipe = copy(this.inPipe, (k) => new Int32Array(k));
    // push, not `length = n`: a packed array, never a sparse (dictionary-mode) one.
    while (this.target.length < n) {
      this.target.push(undefined);
      this.pending.push(undefined);
    }
    this.size = n;
  }
}
