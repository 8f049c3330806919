// One service port's listener on the kernel relay engine (kernel-relay.ts supervises the worker
// thread): listen, forward the balancer's endpoint changes, close, and listen again in a new worker
// after the old one died. Counters live in a SharedArrayBuffer the worker updates, so reading them
// needs no round trip.
import * as c from '../../../../native/libc-sockets.ts';
import { KubeProxyError } from '../../../errors.ts';
import type { ServicePortName } from '../../../model/types.ts';
import { errnoName } from '../../../netlink/errno.ts';
import { DIAL_TIMEOUTS_MS, type LoadBalancer } from '../load-balancer.ts';
import {
  STAT_ACCEPT_FAILURES,
  STAT_ACCEPTED,
  STAT_CONNECTIONS,
  STAT_DIAL_FAILURES,
  STAT_LISTEN_FD,
  STAT_REJECTED,
  STAT_SLOTS,
} from '../relay-control.ts';
import type { KernelRelay } from './kernel-relay.ts';
import type { Reply } from './relay-thread.ts';

export interface KernelListenerOptions {
  readonly maxConnections?: number;
  readonly drainTimeoutMs?: number;
  readonly dialTimeoutsMs?: readonly number[];
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
  /**
   * Called when a new worker could not bind the old port and listens on `port` instead, or with
   * undefined when it could not listen at all (the listener is then dropped: the next sync opens
   * a new one).
   */
  onRebound: ((port: number | undefined) => void) | undefined;

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

  /**
   * After the worker ended: close the listening socket it left open when it could not clean up
   * (terminated, out of memory), so the port is free to bind again and no client queues on it.
   * Returns whether there was one. The worker's connections, untracked here, stay leaked.
   */
  reclaim(): boolean {
    const fd = Atomics.exchange(this.#counters, STAT_LISTEN_FD, 0) - 1;
    if (fd < 0) return false;
    c.close(fd);
    return true;
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
    if (!this.#relay.running) {
      this.reclaim();
      return;
    }
    try {
      await this.#relay.request({ op: 'close', id: this.#relay.nextId(), svc: this.#svc });
    } catch (err) {
      if (this.#relay.running) throw err;
      // The worker died while closing: its sockets went with it (or are reclaimed here).
      this.reclaim();
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
