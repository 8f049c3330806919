// The main thread's side of the kernel relay engine (relay-engine.ts, run in relay-worker.ts):
// one worker thread relays every TCP service port; this file supervises it, forwards the load
// balancer's state to it and exposes per-service listeners with the surface Listeners uses
// (listen, close, drainRemoved, connections, stats), as the Node-based TcpRelay does.
//
// A worker that dies (a throw in its loop, an exit) takes its sockets with it; operators expect
// TCP service back without restarting the daemon. So its end is logged and counted, a new one is
// started after a growing, bounded delay (restart-backoff.ts), and every listener is opened again
// on the same port (the portal rules redirect there) with its endpoints and affinity. A port that
// cannot be bound again is replaced by a new one, and the listener reports it (onRebound) so the
// next sync rewrites the portals. Counters live in a SharedArrayBuffer per listener, so reading
// them needs no round trip.
import { KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { ServicePortName } from '../../../model/types.ts';
import { errnoName } from '../../../netlink/errno.ts';
import { DIAL_TIMEOUTS_MS, type LoadBalancer } from '../load-balancer.ts';
import {
  STAT_ACCEPT_FAILURES,
  STAT_ACCEPTED,
  STAT_CONNECTIONS,
  STAT_DIAL_FAILURES,
  STAT_REJECTED,
  STAT_SLOTS,
  type ToWorker,
} from '../relay-control.ts';
import { DEFAULT_RESTART_BACKOFF, failuresInRow, restartDelayMs, type RestartBackoff } from '../restart-backoff.ts';
import { RelayThread, type Reply, type ThreadEnd } from './relay-thread.ts';
import type { RelayTestHooks } from './relay-worker.ts';

export interface KernelRelayOptions {
  readonly logger: Logger;
  /** Back-off of an endpoint whose dial failed (the main load balancer's, so TCP and UDP agree). */
  readonly failureBackoffMs: number;
  /** Bytes per recv, and the most held per direction before the reader is paused (default 64 KiB). */
  readonly bufferSize?: number;
  /** splice(2) through pipes instead of recv/send (default off; see relay-engine.ts). */
  readonly splice?: boolean;
  /** When a dead worker is started again (default DEFAULT_RESTART_BACKOFF). */
  readonly restartBackoff?: Partial<RestartBackoff>;
  /** Tests only: lets a test make the worker's loop throw. The daemon never sets it. */
  readonly testHooks?: RelayTestHooks;
}

export interface KernelListenerOptions {
  readonly maxConnections?: number;
  readonly drainTimeoutMs?: number;
  readonly dialTimeoutsMs?: readonly number[];
}

export class KernelRelay {
  readonly #o: KernelRelayOptions;
  readonly #logger: Logger;
  readonly #backoff: RestartBackoff;
  /** The listeners to open again in a new worker, by service index. */
  readonly #listening = new Map<number, KernelTcpListener>();
  #thread: RelayThread;
  #startedAt = 0;
  #failures = 0;
  #restarts = 0;
  #recovered = 0;
  #stopping = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;
  #nextSvc = 0;
  /** Counters for metrics and tests. */
  readonly stats: { readonly restarts: number; readonly recovered: number };

  constructor(o: KernelRelayOptions) {
    this.#o = o;
    this.#logger = o.logger;
    this.#backoff = { ...DEFAULT_RESTART_BACKOFF, ...o.restartBackoff };
    // The first start fails loudly (Listeners then falls back to the Node relay); later ones retry.
    this.#thread = this.#spawn();
    const self = (): KernelRelay => this;
    this.stats = {
      /** Worker deaths (each schedules a restart). */
      get restarts() {
        return self().#restarts;
      },
      /** Restarts done: a new worker runs and every listener was re-opened (or failed to, logged). */
      get recovered() {
        return self().#recovered;
      },
    };
  }

  listener(name: ServicePortName, lb: LoadBalancer, options: KernelListenerOptions = {}): KernelTcpListener {
    return new KernelTcpListener(this, this.#nextSvc++, name, lb, options);
  }

  /** Close every listener and connection and end the worker (no restart after). */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#thread.stop();
  }

  /** Tests only: end the worker abruptly, as a crash outside its loop would. */
  async terminateWorker(): Promise<void> {
    await this.#thread.terminate();
  }

  get running(): boolean {
    return this.#thread.alive;
  }

  /** Throws when no worker runs (between a death and its restart). */
  send(m: ToWorker): void {
    this.#thread.send(m);
  }

  request(m: ToWorker & { id: number }): Promise<Reply> {
    return this.#thread.request(m);
  }

  nextId(): number {
    return this.#nextId++;
  }

  /** A listener that listens now: opened again in every new worker until forgotten. */
  adopt(svc: number, l: KernelTcpListener): void {
    this.#listening.set(svc, l);
  }

  forget(svc: number): void {
    this.#listening.delete(svc);
  }

  #spawn(): RelayThread {
    const o = this.#o;
    const thread = new RelayThread(o.logger, {
      failureBackoffMs: o.failureBackoffMs,
      bufferSize: o.bufferSize ?? 64 * 1024,
      splice: o.splice ?? false,
      ...(o.testHooks === undefined ? {} : { testHooks: o.testHooks }),
    });
    this.#startedAt = performance.now();
    void thread.ended.then((end) => this.#onEnded(thread, end));
    return thread;
  }

  #onEnded(thread: RelayThread, end: ThreadEnd): void {
    if (thread !== this.#thread || end.requested || this.#stopping) return;
    this.#scheduleRestart(end.err, { exitCode: end.exitCode });
  }

  #scheduleRestart(err: unknown, fields: Record<string, unknown>): void {
    this.#failures = failuresInRow(this.#failures, performance.now() - this.#startedAt, this.#backoff);
    const delayMs = restartDelayMs(this.#failures, this.#backoff);
    this.#restarts++;
    this.#logger.error(
      {
        err,
        ...fields,
        restarts: this.#restarts,
        failuresInRow: this.#failures,
        restartInMs: delayMs,
        listeners: this.#listening.size,
      },
      'userspace: TCP relay worker died, restarting it',
    );
    this.#timer = setTimeout(() => void this.#restart(), delayMs);
  }

  async #restart(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopping) return;
    try {
      this.#thread = this.#spawn();
    } catch (err) {
      // Out of fds for the eventfd, or the worker cannot load: try again later, further apart.
      this.#scheduleRestart(err, { stage: 'start' });
      return;
    }
    const thread = this.#thread;
    for (const [svc, l] of [...this.#listening].sort((a, b) => a[0] - b[0])) {
      if (thread !== this.#thread || !thread.alive) return; // died again: its restart re-opens all
      if (this.#listening.get(svc) !== l) continue; // closed meanwhile
      try {
        await l.reopen();
      } catch (err) {
        this.#logger.error({ err, service: l.name }, 'userspace: re-opening the listener in the new TCP relay worker failed');
      }
    }
    if (thread !== this.#thread || !thread.alive) return;
    this.#recovered++;
    this.#logger.info({ listeners: this.#listening.size, restarts: this.#restarts }, 'userspace: TCP relay worker restarted');
  }
}

/** One service port's listening socket in the engine. */
export class KernelTcpListener {
  readonly name: ServicePortName;
  readonly #relay: KernelRelay;
  readonly #svc: number;
  readonly #lb: LoadBalancer;
  readonly #o: KernelListenerOptions;
  readonly #counters = new Int32Array(new SharedArrayBuffer(STAT_SLOTS * 4));
  /** What the worker's balancer was last given, to send only changes. */
  #sent: ServiceState | undefined;
  #ip = '';
  #port = 0;
  /** Counters for metrics and tests (the worker updates them). */
  readonly stats: {
    readonly accepted: number;
    readonly dialFailures: number;
    readonly rejected: number;
    /** accept4 failures for want of fds or memory, each followed by a pause of the listener. */
    readonly acceptFailures: number;
  };
  /** Called when a new worker could not bind the old port and listens on `port` instead. */
  onRebound: ((port: number) => void) | undefined;

  constructor(
    relay: KernelRelay,
    svc: number,
    name: ServicePortName,
    lb: LoadBalancer,
    options: KernelListenerOptions,
  ) {
    this.#relay = relay;
    this.#svc = svc;
    this.name = name;
    this.#lb = lb;
    this.#o = options;
    const n = this.#counters;
    this.stats = {
      get accepted() {
        return Atomics.load(n, STAT_ACCEPTED);
      },
      get dialFailures() {
        return Atomics.load(n, STAT_DIAL_FAILURES);
      },
      get rejected() {
        return Atomics.load(n, STAT_REJECTED);
      },
      get acceptFailures() {
        return Atomics.load(n, STAT_ACCEPT_FAILURES);
      },
    };
  }

  get connections(): number {
    return Atomics.load(this.#counters, STAT_CONNECTIONS);
  }

  /** The port listened on (0 before listen). */
  get port(): number {
    return this.#port;
  }

  async listen(ip: string, port = 0): Promise<number> {
    const r = await this.#bind(ip, port);
    if (r.op === 'failed') throw bindError(ip, port, r);
    this.#ip = ip;
    this.#port = r.op === 'listening' ? r.port : 0;
    this.#relay.adopt(this.#svc, this);
    return this.#port;
  }

  /**
   * Listen again in a new worker: the same port if it can be bound (the portals point there),
   * else a new one, reported through onRebound. The balancer's current state goes with it.
   */
  async reopen(): Promise<void> {
    // The dead worker's connections are gone; a worker that was terminated did not count them down.
    Atomics.store(this.#counters, STAT_CONNECTIONS, 0);
    let r = await this.#bind(this.#ip, this.#port);
    if (r.op === 'failed') r = await this.#bind(this.#ip, 0);
    if (r.op === 'failed') throw bindError(this.#ip, 0, r);
    const port = r.op === 'listening' ? r.port : 0;
    if (port === this.#port) return;
    this.#port = port;
    this.onRebound?.(port);
  }

  async #bind(ip: string, port: number): Promise<Reply> {
    const service = this.#lb.service(this.name);
    const r = await this.#relay.request({
      op: 'listen',
      id: this.#relay.nextId(),
      svc: this.#svc,
      name: this.name,
      ip,
      port,
      stats: this.#counters.buffer as SharedArrayBuffer,
      maxConnections: this.#o.maxConnections ?? 10_000,
      drainTimeoutMs: this.#o.drainTimeoutMs ?? 30_000,
      dialTimeoutsMs: this.#o.dialTimeoutsMs ?? DIAL_TIMEOUTS_MS,
      service,
    });
    if (r.op !== 'failed') this.#sent = service;
    return r;
  }

  /**
   * Forward the balancer's endpoints when they changed, then let the engine schedule the
   * connections whose endpoint left: new connections avoid it at once, established ones end
   * after the drain timeout.
   */
  drainRemoved(): void {
    const now = this.#lb.service(this.name);
    // Only a change of endpoints can leave connections on a removed one: the engine's scan for
    // them runs then, not on every sync. With no worker (awaiting its restart) there is nothing to
    // drain, and the re-open sends the balancer's state as it is then.
    if (!now || sameService(now, this.#sent) || !this.#relay.running) return;
    this.#relay.send({ op: 'service', svc: this.#svc, affinity: now.affinity, targets: now.targets });
    this.#relay.send({ op: 'drain', svc: this.#svc });
    this.#sent = now;
  }

  /** Stop accepting and close every connection (service removed). */
  async close(): Promise<void> {
    this.#relay.forget(this.#svc);
    // A dead worker closed (or lost) the socket already; the next one will not open it.
    if (!this.#relay.running) return;
    try {
      await this.#relay.request({ op: 'close', id: this.#relay.nextId(), svc: this.#svc });
    } catch (err) {
      if (this.#relay.running) throw err;
      // The worker died while closing: its sockets went with it, which is what close asked for.
    }
  }
}

function bindError(ip: string, port: number, r: Extract<Reply, { op: 'failed' }>): KubeProxyError {
  return new KubeProxyError('KP_ERR_NATIVE', `userspace: ${r.syscall} ${ip}:${port}: ${errnoName(r.errno)}`);
}

type ServiceState = NonNullable<ReturnType<LoadBalancer['service']>>;

/** The balancer replaces its targets array only when the list changed: identity is enough there. */
function sameService(a: ServiceState, b: ServiceState | undefined): boolean {
  return (
    b !== undefined &&
    a.targets === b.targets &&
    a.affinity.type === b.affinity.type &&
    a.affinity.timeoutSeconds === b.affinity.timeoutSeconds
  );
}
