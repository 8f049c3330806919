// The kernel relay engine: the userspace mode's TCP relay as one epoll loop over raw file
// descriptors, run in a worker thread (relay-worker.ts). Node's `net` costs a JS socket object,
// a libuv handle, stream machinery and garbage per connection; measured, that alone kept a relay
// at ~0.8x HAProxy's throughput and ~0.7x its connection rate. Here a connection is a slot in
// typed arrays indexed by its fd, and a byte goes recv → one shared buffer → send, as HAProxy
// does it (its default is recv/send, not splice).
//
// Per connection pair: the client fd (accepted) and the upstream fd (dialled) point at each other
// through `peer`; the pair's state, attempt, service and target live on the client fd. This file
// is the loop, control messages and deadlines; accepting is relay-acceptor.ts, dialling the endpoint (upstream
// tryConnectEndpoints) is relay-dialer.ts, relaying a connected pair (back-pressure, half-close)
// relay-pairs.ts, the listening socket listen-socket.ts.
import * as c from '../../../../native/libc-sockets.ts';
import type { SessionAffinity } from '../../../model/types.ts';
import { LoadBalancer, type Target } from '../load-balancer.ts';
import { STAT_CONNECTIONS, STAT_LISTEN_FD, type ToWorker, type FromWorker } from '../relay-control.ts';
import { KubeProxyError } from '../../../errors.ts';
import { openListenSocket } from './listen-socket.ts';
import { RelayAcceptor } from './relay-acceptor.ts';
import { RelayDialer, type EngineService } from './relay-dialer.ts';
import { RelayPairs } from './relay-pairs.ts';
import type { RelayTestHooks } from './relay-worker.ts';
import { FdTable, LISTENER, CLIENT, UPSTREAM, WAKE, DIALING, RELAYING, DRAINING } from './fd-table.ts';

export interface EngineOptions {
  readonly wakeFd: number;
  /** Drains the control messages queued for the engine (receiveMessageOnPort in the worker). */
  readonly receive: () => ToWorker | undefined;
  readonly reply: (m: FromWorker) => void;
  readonly failureBackoffMs: number;
  readonly bufferSize: number;
  /**
   * Move bytes with splice(2) through a pipe per direction (zero-copy) instead of recv/send
   * through the shared buffer. Off by default: measured on loopback it did not beat recv/send
   * (bench/userspace.bench.ts, BENCH_RELAY_SPLICE=1), and it costs two fds per active direction.
   */
  readonly splice?: boolean;
  readonly now: () => number;
  /**
   * Holds the epoll fd + 1 while it is open (cleared before the close), so the main thread can
   * close it after a worker ended without its own cleanup.
   */
  readonly epollSlot?: Int32Array;
  /** Tests only: lets the loop be made to throw (see RelayTestHooks). */
  readonly testHooks?: RelayTestHooks;
}

const MAX_EVENTS = 256;
/** Timer resolution: dial timeouts start at 250 ms, drain deadlines are seconds. */
const TICK_MS = 20;
/** epoll_wait never blocks longer, so a terminating worker returns to JS (where termination lands). */
const MAX_WAIT_MS = 500;
/** How often the worker's balancer drops expired affinity and back-off records. */
const CLEANUP_MS = 10_000;
/** Loop turns between clock reads for that (an idle loop turns at least every MAX_WAIT_MS). */
const CLEANUP_CHECK_TURNS = 64;

export class RelayEngine {
  readonly #o: EngineOptions;
  readonly #ep: number;
  readonly #t = new FdTable();
  readonly #lb: LoadBalancer;
  readonly #pairs: RelayPairs;
  readonly #dialer: RelayDialer;
  readonly #acceptor: RelayAcceptor;
  readonly #services: (EngineService | undefined)[] = [];
  readonly #events = new Uint8Array(MAX_EVENTS * c.EPOLL_EVENT_SIZE);
  readonly #ev32 = new Uint32Array(this.#events.buffer);
  readonly #wakeBuf = new Uint8Array(8);
  /** Fds with a deadline: clients dialling or draining, listeners paused after a failed accept. */
  readonly #armed = new Set<number>();
  #nextTick = 0;
  /** Loop turns until the next look at the clock for #cleanup (no clock read per turn). */
  #untilCleanup = 0;
  #nextCleanup = 0;
  #running = true;

  constructor(o: EngineOptions) {
    this.#o = o;
    this.#lb = new LoadBalancer({ now: o.now, failureBackoffMs: o.failureBackoffMs });
    this.#ep = c.check('epoll_create1', c.epollCreate1(c.EPOLL_CLOEXEC));
    if (o.epollSlot) Atomics.store(o.epollSlot, 0, this.#ep + 1);
    const t = this.#t;
    this.#pairs = new RelayPairs({
      ep: this.#ep,
      table: t,
      bufferSize: o.bufferSize,
      splice: o.splice ?? false,
      hooks: {
        closed: (cfd) => {
          const s = this.#services[t.svc[cfd] ?? -1];
          if (s) Atomics.sub(s.stats, STAT_CONNECTIONS, 1);
          this.#disarm(cfd);
        },
        owedAfterFins: (cfd) => {
          const s = this.#services[t.svc[cfd] ?? -1];
          if (t.state[cfd] !== RELAYING || !s) return;
          t.state[cfd] = DRAINING;
          this.#arm(cfd, s.drainMs);
        },
        log: (level, msg, fields) => this.#log(level, msg, fields),
      },
    });
    this.#dialer = new RelayDialer({
      table: t,
      pairs: this.#pairs,
      lb: this.#lb,
      service: (svc) => this.#services[svc],
      arm: (fd, ms) => this.#arm(fd, ms),
      disarm: (fd) => this.#disarm(fd),
      log: (level, msg, fields) => this.#log(level, msg, fields),
    });
    this.#acceptor = new RelayAcceptor({
      table: t,
      pairs: this.#pairs,
      dialer: this.#dialer,
      arm: (fd, ms) => this.#arm(fd, ms),
      log: (level, msg, fields) => this.#log(level, msg, fields),
    });
    this.#t.open(o.wakeFd, WAKE);
    this.#pairs.setEvents(o.wakeFd, c.EPOLLIN);
  }

  /** Runs until a `stop` message; returns with every socket it opened closed. */
  run(): void {
    const S = c.EPOLL_EVENT_SIZE >> 2;
    const D = c.EPOLL_DATA_OFFSET >> 2;
    const t = this.#t;
    // Whatever ends the loop (a stop, or a bug that throws), its sockets close with it: a listener
    // left open by a dead worker would queue clients nobody serves.
    try {
      if (this.#o.testHooks?.crashOnStart) throw new KubeProxyError('KP_ERR_NATIVE', 'relay engine: crash on start (test hook)');
      while (this.#running) {
        const n = c.epollWait(this.#ep, this.#events, MAX_EVENTS, this.#armed.size > 0 ? TICK_MS : MAX_WAIT_MS);
        if (n !== -c.EINTR) c.check('epoll_wait', n);
        for (let i = 0; i < n; i++) {
          const events = this.#ev32[i * S] ?? 0;
          const fd = this.#ev32[i * S + D] ?? -1;
          // An fd closed earlier in this batch may already be reused: its generation tells.
          if (t.gen[fd] !== this.#ev32[i * S + D + 1]) continue;
          const role = t.role[fd];
          if (role === CLIENT || role === UPSTREAM) this.#onSocket(fd, events);
          else if (role === LISTENER) this.#accept(fd);
          else if (role === WAKE) this.#control();
        }
        if (this.#armed.size > 0) this.#tick();
        if (--this.#untilCleanup <= 0) this.#cleanup();
      }
    } finally {
      this.#shutdown();
    }
  }

  // --- control (main thread → engine) ---

  #control(): void {
    c.read(this.#o.wakeFd, this.#wakeBuf, 8);
    for (let m = this.#o.receive(); m !== undefined; m = this.#o.receive()) this.#handle(m);
  }

  #handle(m: ToWorker): void {
    switch (m.op) {
      case 'listen':
        return this.#listen(m);
      case 'service':
        return this.#setService(m.svc, m.affinity, m.targets);
      case 'drain':
        return this.#drain(m.svc);
      case 'close':
        this.#closeService(m.svc);
        return this.#o.reply({ op: 'closed', id: m.id });
      case 'stop':
        this.#running = false;
        return;
      case 'crash':
        if (this.#o.testHooks) throw new KubeProxyError('KP_ERR_NATIVE', 'relay engine: crash requested (test hook)');
    }
  }

  #listen(m: Extract<ToWorker, { op: 'listen' }>): void {
    const l = openListenSocket(m.ip, m.port);
    if (!l.ok) return this.#o.reply({ op: 'failed', id: m.id, syscall: l.syscall, errno: l.errno });
    const { fd, port } = l;
    const stats = new Int32Array(m.stats);
    this.#services[m.svc] = {
      name: m.name,
      listenFd: fd,
      stats,
      max: m.maxConnections,
      drainMs: m.drainTimeoutMs,
      dialMs: m.dialTimeoutsMs,
    };
    this.#t.open(fd, LISTENER);
    Atomics.store(stats, STAT_LISTEN_FD, fd + 1);
    this.#t.svc[fd] = m.svc;
    if (m.service) this.#setService(m.svc, m.service.affinity, m.service.targets);
    this.#pairs.setEvents(fd, c.EPOLLIN);
    this.#o.reply({ op: 'listening', id: m.id, port });
  }

  #setService(svc: number, affinity: SessionAffinity, targets: readonly Target[]): void {
    const s = this.#services[svc];
    if (!s) return;
    this.#dialer.learn(targets);
    this.#lb.setService(s.name, affinity, targets);
  }

  /** Connections to endpoints the service port no longer has: close after the drain timeout. */
  #drain(svc: number): void {
    const s = this.#services[svc];
    if (!s) return;
    const t = this.#t;
    for (let fd = 0; fd < t.size; fd++) {
      const target = t.target[fd];
      if (t.role[fd] === CLIENT && t.svc[fd] === svc && t.state[fd] === RELAYING && target && !this.#lb.hasTarget(s.name, target.key)) {
        t.state[fd] = DRAINING;
        this.#arm(fd, s.drainMs);
      }
    }
  }

  #closeService(svc: number): void {
    const s = this.#services[svc];
    if (!s) return;
    const t = this.#t;
    for (let fd = 0; fd < t.size; fd++)
      if (t.role[fd] === CLIENT && t.svc[fd] === svc) this.#pairs.closePair(fd, false);
    this.#disarm(s.listenFd);
    // Cleared before the close: a set slot always names an fd still open (see STAT_LISTEN_FD).
    Atomics.store(s.stats, STAT_LISTEN_FD, 0);
    this.#pairs.closeFd(s.listenFd);
    this.#lb.deleteService(s.name);
    this.#services[svc] = undefined;
  }

  #shutdown(): void {
    for (let svc = 0; svc < this.#services.length; svc++) this.#closeService(svc);
    if (this.#o.epollSlot) Atomics.store(this.#o.epollSlot, 0, 0);
    c.close(this.#ep);
  }

  // --- accepting and dialling ---

  #accept(lfd: number): void {
    const s = this.#services[this.#t.svc[lfd] ?? -1];
    if (s) this.#acceptor.accept(lfd, s);
  }

  // --- relaying (relay-pairs.ts) ---

  #onSocket(fd: number, events: number): void {
    const t = this.#t;
    const cfd = t.role[fd] === CLIENT ? fd : (t.peer[fd] ?? -1);
    if (t.state[cfd] !== DIALING) return this.#pairs.relay(fd, cfd, events);
    if (fd !== cfd) this.#dialer.done(fd, events);
  }

  // --- deadlines ---

  #arm(cfd: number, ms: number): void {
    this.#t.deadline[cfd] = this.#o.now() + ms;
    this.#armed.add(cfd);
  }

  #disarm(cfd: number): void {
    if (this.#armed.size > 0) this.#armed.delete(cfd);
  }

  #tick(): void {
    const now = this.#o.now();
    if (now < this.#nextTick) return;
    this.#nextTick = now + TICK_MS;
    const t = this.#t;
    for (const cfd of this.#armed) {
      if ((t.deadline[cfd] ?? 0) > now) continue;
      this.#armed.delete(cfd);
      if (t.role[cfd] === LISTENER) this.#pairs.setEvents(cfd, c.EPOLLIN);
      else if (t.state[cfd] === DIALING) this.#dialer.failed(cfd);
      else this.#pairs.closePair(cfd, false);
    }
  }

  /**
   * Expired ClientIP affinity and back-off records out of the worker's balancer, as the proxier
   * does for its own every sync (upstream CleanupStaleStickySessions): the worker gets no syncs.
   */
  #cleanup(): void {
    this.#untilCleanup = CLEANUP_CHECK_TURNS;
    const now = this.#o.now();
    if (now < this.#nextCleanup) return;
    this.#nextCleanup = now + CLEANUP_MS;
    this.#lb.cleanup();
  }

  #log(level: 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    this.#o.reply({ op: 'log', level, msg, fields });
  }
}
