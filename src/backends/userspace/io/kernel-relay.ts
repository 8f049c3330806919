// The main thread's side of the kernel relay engine (relay-engine.ts, run in relay-worker.ts):
// one worker thread relays every TCP service port; this file starts it, forwards the load
// balancer's state to it and exposes per-service listeners with the surface Listeners uses
// (listen, close, drainRemoved, connections, stats), as the Node-based TcpRelay does.
//
// Control is postMessage + a write to an eventfd the worker's epoll watches (the worker never
// returns to its own event loop, so a message alone would not wake it). Counters live in a
// SharedArrayBuffer per listener, so reading them needs no round trip.
import { MessageChannel, Worker } from 'node:worker_threads';
import * as c from '../../../../native/libc-sockets.ts';
import { KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { ServicePortName } from '../../../model/types.ts';
import { errnoName } from '../../../netlink/errno.ts';
import { DIAL_TIMEOUTS_MS, type LoadBalancer } from '../load-balancer.ts';
import {
  STAT_ACCEPTED,
  STAT_CONNECTIONS,
  STAT_DIAL_FAILURES,
  STAT_REJECTED,
  STAT_SLOTS,
  type FromWorker,
  type ToWorker,
} from '../relay-control.ts';
import type { RelayWorkerData } from './relay-worker.ts';

export interface KernelRelayOptions {
  readonly logger: Logger;
  /** Back-off of an endpoint whose dial failed (the main load balancer's, so TCP and UDP agree). */
  readonly failureBackoffMs: number;
  /** Bytes per recv, and the most held per direction before the reader is paused (default 64 KiB). */
  readonly bufferSize?: number;
  /** splice(2) through pipes instead of recv/send (default off; see relay-engine.ts). */
  readonly splice?: boolean;
}

export interface KernelListenerOptions {
  readonly maxConnections?: number;
  readonly drainTimeoutMs?: number;
  readonly dialTimeoutsMs?: readonly number[];
}

type Reply = Extract<FromWorker, { id: number }>;

export class KernelRelay {
  readonly #logger: Logger;
  readonly #worker: Worker;
  readonly #port: MessageChannel['port1'];
  readonly #wakeFd: number;
  readonly #wake = new Uint8Array(8);
  readonly #waiting = new Map<number, (r: Reply | Error) => void>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #nextSvc = 0;
  #alive = true;

  constructor(o: KernelRelayOptions) {
    this.#logger = o.logger;
    this.#wakeFd = c.check('eventfd', c.eventfd(0, c.EFD_CLOEXEC | c.EFD_NONBLOCK));
    new DataView(this.#wake.buffer).setBigUint64(0, 1n, true);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const data: RelayWorkerData = {
      wakeFd: this.#wakeFd,
      port: port2,
      failureBackoffMs: o.failureBackoffMs,
      bufferSize: o.bufferSize ?? 64 * 1024,
      splice: o.splice ?? false,
    };
    // Sources run as .ts (type stripping) or, built, as .js beside this file.
    const file = import.meta.url.endsWith('.ts') ? './relay-worker.ts' : './relay-worker.js';
    this.#worker = new Worker(new URL(file, import.meta.url), { workerData: data, transferList: [port2] });
    this.#worker.on('message', (m: FromWorker) => this.#onMessage(m));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        this.#alive = false;
        for (const done of this.#waiting.values())
          done(new KubeProxyError('KP_ERR_NATIVE', 'userspace: TCP relay worker exited'));
        this.#waiting.clear();
        c.close(this.#wakeFd);
        resolve();
      });
    });
    this.#worker.on('error', (err) => this.#logger.error({ err }, 'userspace: TCP relay worker failed'));
    // The daemon's lifetime is decided elsewhere: the worker alone keeps nothing running.
    this.#worker.unref();
    this.#port.unref();
  }

  listener(name: ServicePortName, lb: LoadBalancer, options: KernelListenerOptions = {}): KernelTcpListener {
    return new KernelTcpListener(this, this.#nextSvc++, name, lb, options);
  }

  /** Close every listener and connection and end the worker. */
  async stop(): Promise<void> {
    if (this.#alive) this.send({ op: 'stop' });
    await this.#exited;
  }

  send(m: ToWorker): void {
    if (!this.#alive) throw new KubeProxyError('KP_ERR_NATIVE', 'userspace: TCP relay worker is not running');
    this.#port.postMessage(m);
    c.write(this.#wakeFd, this.#wake, 8);
  }

  request(m: ToWorker & { id: number }): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#waiting.set(m.id, (r) => (r instanceof Error ? reject(r) : resolve(r)));
      // An answer awaited keeps the process alive (an unref'd worker alone would not).
      if (this.#waiting.size === 1) this.#worker.ref();
      this.send(m);
    });
  }

  nextId(): number {
    return this.#nextId++;
  }

  #onMessage(m: FromWorker): void {
    if (m.op === 'log') {
      this.#logger[m.level](m.fields, m.msg);
      return;
    }
    const done = this.#waiting.get(m.id);
    this.#waiting.delete(m.id);
    if (this.#waiting.size === 0) this.#worker.unref();
    done?.(m);
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
  /** Counters for metrics and tests (the worker updates them). */
  readonly stats: { readonly accepted: number; readonly dialFailures: number; readonly rejected: number };

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
    };
  }

  get connections(): number {
    return Atomics.load(this.#counters, STAT_CONNECTIONS);
  }

  async listen(ip: string, port = 0): Promise<number> {
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
    if (r.op === 'failed')
      throw new KubeProxyError(
        'KP_ERR_NATIVE',
        `userspace: ${r.syscall} ${ip}:${port}: ${errnoName(r.errno)}`,
      );
    this.#sent = service;
    return r.op === 'listening' ? r.port : 0;
  }

  /**
   * Forward the balancer's endpoints when they changed, then let the engine schedule the
   * connections whose endpoint left: new connections avoid it at once, established ones end
   * after the drain timeout.
   */
  drainRemoved(): void {
    const now = this.#lb.service(this.name);
    // Only a change of endpoints can leave connections on a removed one: the engine's scan for
    // them runs then, not on every sync.
    if (!now || sameService(now, this.#sent)) return;
    this.#relay.send({ op: 'service', svc: this.#svc, affinity: now.affinity, targets: now.targets });
    this.#relay.send({ op: 'drain', svc: this.#svc });
    this.#sent = now;
  }

  /** Stop accepting and close every connection (service removed). */
  async close(): Promise<void> {
    await this.#relay.request({ op: 'close', id: this.#relay.nextId(), svc: this.#svc });
  }
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
