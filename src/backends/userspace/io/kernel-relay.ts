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
// next sync rewrites the portals. The listeners themselves are kernel-tcp-listener.ts.
import type { Logger } from '../../../model/logger.ts';
import type { ServicePortName } from '../../../model/types.ts';
import type { LoadBalancer } from '../load-balancer.ts';
import type { ToWorker } from '../relay-control.ts';
import { DEFAULT_RESTART_BACKOFF, failuresInRow, restartDelayMs, type RestartBackoff } from '../restart-backoff.ts';
import { RelayThread, type Reply, type ThreadEnd } from './relay-thread.ts';
import { KernelTcpListener, type KernelListenerOptions } from './kernel-tcp-listener.ts';
import type { RelayTestHooks } from './relay-worker.ts';

export { KernelTcpListener, type KernelListenerOptions };

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
    // Before the start, which may throw: a start that fails counts as a run of no time.
    this.#startedAt = performance.now();
    const thread = new RelayThread(o.logger, {
      failureBackoffMs: o.failureBackoffMs,
      bufferSize: o.bufferSize ?? 64 * 1024,
      splice: o.splice ?? false,
      ...(o.testHooks === undefined ? {} : { testHooks: o.testHooks }),
    });
    void thread.ended.then((end) => this.#onEnded(thread, end));
    return thread;
  }

  #onEnded(thread: RelayThread, end: ThreadEnd): void {
    if (thread !== this.#thread || end.requested || this.#stopping) return;
    let reclaimed = 0;
    for (const l of this.#listening.values()) if (l.reclaim()) reclaimed++;
    this.#scheduleRestart(end.err, { exitCode: end.exitCode, reclaimedListeners: reclaimed });
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
    // As the worker: the daemon's lifetime is decided elsewhere.
    this.#timer.unref();
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
        // Died again meanwhile: the next restart retries it. Otherwise it is dropped, and its
        // owner (Listeners) lets the next sync open a new one.
        if (thread !== this.#thread || !thread.alive) return;
        this.#listening.delete(svc);
        l.onRebound?.(undefined);
      }
    }
    if (thread !== this.#thread || !thread.alive) return;
    this.#recovered++;
    this.#logger.info({ listeners: this.#listening.size, restarts: this.#restarts }, 'userspace: TCP relay worker restarted');
  }
}
