// Dialling the endpoint for an accepted client in the kernel relay engine (relay-engine.ts): a
// non-blocking connect per attempt, each with its own deadline, the next endpoint after a failure,
// at most dialMs.length tries, as upstream v1.25 proxysocket.go tryConnectEndpoints (the sticky
// choice dropped after a failure). The client is only watched once the endpoint accepted, so its
// bytes wait in the kernel meanwhile and a retry never replays anything.
import * as c from '../../../../native/libc-sockets.ts';
import type { ServicePortName } from '../../../model/types.ts';
import type { LoadBalancer, Target } from '../load-balancer.ts';
import { STAT_DIAL_FAILURES } from '../relay-control.ts';
import { decodeSockaddr, encodeSockaddr, SOCKADDR_MAX } from '../sockaddr.ts';
import { RELAYING, UPSTREAM, type FdTable } from './fd-table.ts';
import type { RelayPairs } from './relay-pairs.ts';

export const SOCK_FLAGS = c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;

/** A service port the engine listens for. */
export interface EngineService {
  readonly name: ServicePortName;
  readonly listenFd: number;
  readonly stats: Int32Array;
  readonly max: number;
  readonly drainMs: number;
  readonly dialMs: readonly number[];
}

export interface DialerDeps {
  readonly table: FdTable;
  readonly pairs: RelayPairs;
  readonly lb: LoadBalancer;
  readonly service: (svc: number) => EngineService | undefined;
  /** Give the client fd a deadline (the dial timeout); the engine's tick calls failed() at it. */
  readonly arm: (fd: number, ms: number) => void;
  readonly disarm: (fd: number) => void;
  readonly log: (level: 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
}

export class RelayDialer {
  readonly #d: DialerDeps;
  readonly #one = new Int32Array([1]);
  readonly #errVal = new Int32Array(1);
  readonly #errLen = new Uint32Array(1);
  readonly #addr = new Uint8Array(SOCKADDR_MAX);
  readonly #addrLen = new Uint32Array(1);
  /** Encoded sockaddr per target key, built when a service's endpoints are set. */
  readonly #sockaddrs = new Map<string, Uint8Array>();

  constructor(deps: DialerDeps) {
    this.#d = deps;
  }

  /** Encode the endpoints' addresses once, not per dial. */
  learn(targets: readonly Target[]): void {
    for (const tg of targets)
      if (!this.#sockaddrs.has(tg.key)) this.#sockaddrs.set(tg.key, encodeSockaddr(tg.ip, tg.port));
  }

  dial(cfd: number, s: EngineService): void {
    const t = this.#d.table;
    const retry = (t.attempt[cfd] ?? 0) > 0;
    // getpeername only for ClientIP affinity: otherwise no address is ever decoded.
    const target = this.#d.lb.next(s.name, this.#d.lb.needsClientIP(s.name) ? this.#peerIP(cfd) : '', retry);
    const addr = target && this.#sockaddrs.get(target.key);
    if (!target || !addr) return this.#d.pairs.closePair(cfd, true);
    t.target[cfd] = target;
    const ufd = c.socket(target.ip.includes(':') ? c.AF_INET6 : c.AF_INET, c.SOCK_STREAM | SOCK_FLAGS, 0);
    if (ufd < 0) {
      this.#d.log('error', 'userspace: socket failed', { service: s.name, errno: -ufd });
      return this.#d.pairs.closePair(cfd, true);
    }
    t.open(ufd, UPSTREAM);
    t.peer[ufd] = cfd;
    t.peer[cfd] = ufd;
    c.setsockopt(ufd, c.IPPROTO_TCP, c.TCP_NODELAY, this.#one);
    const r = c.connect(ufd, addr);
    if (r === 0) return this.#connected(cfd, ufd);
    if (r !== -c.EINPROGRESS) return this.failed(cfd);
    this.#d.pairs.setEvents(ufd, c.EPOLLOUT);
    this.#d.arm(cfd, s.dialMs[t.attempt[cfd] ?? 0] ?? 2000);
  }

  done(ufd: number, events: number): void {
    const cfd = this.#d.table.peer[ufd] ?? -1;
    // A failed connect reports EPOLLERR (with the error in SO_ERROR): writable without an error is
    // connected, so the common case needs no getsockopt.
    if ((events & (c.EPOLLERR | c.EPOLLHUP)) === 0 && (events & c.EPOLLOUT) !== 0)
      return this.#connected(cfd, ufd);
    this.#errLen[0] = 4;
    const r = c.getsockopt(ufd, c.SOL_SOCKET, c.SO_ERROR, this.#errVal, this.#errLen);
    if (r === 0 && this.#errVal[0] === 0 && (events & c.EPOLLOUT) !== 0) this.#connected(cfd, ufd);
    else this.failed(cfd);
  }

  #connected(cfd: number, ufd: number): void {
    const t = this.#d.table;
    this.#d.disarm(cfd);
    t.state[cfd] = RELAYING;
    const target = t.target[cfd];
    if (target) this.#d.lb.markSucceeded(target.key);
    this.#d.pairs.setEvents(ufd, c.EPOLLIN);
    this.#d.pairs.setEvents(cfd, c.EPOLLIN);
  }

  /** The dial failed (refused, unreachable, timed out): the next endpoint, at most dialMs.length tries. */
  failed(cfd: number): void {
    const t = this.#d.table;
    const s = this.#d.service(t.svc[cfd] ?? -1);
    this.#d.disarm(cfd);
    const ufd = t.peer[cfd] ?? -1;
    if (ufd >= 0) this.#d.pairs.closeFd(ufd);
    t.peer[cfd] = -1;
    const target = t.target[cfd];
    if (target) this.#d.lb.markFailed(target.key);
    if (!s) return this.#d.pairs.closePair(cfd, true);
    Atomics.add(s.stats, STAT_DIAL_FAILURES, 1);
    const attempt = (t.attempt[cfd] ?? 0) + 1;
    t.attempt[cfd] = attempt;
    if (attempt >= s.dialMs.length) return this.#d.pairs.closePair(cfd, true);
    this.dial(cfd, s);
  }

  #peerIP(fd: number): string {
    this.#addrLen[0] = SOCKADDR_MAX;
    if (c.getpeername(fd, this.#addr, this.#addrLen) < 0) return '';
    return decodeSockaddr(this.#addr, this.#addrLen[0]).ip;
  }
}
