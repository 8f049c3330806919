// The daemon's listening sockets, one per served service port (upstream v1.25
// addServiceOnPortInternal: a proxy socket on listenIP with a kernel-chosen port). Closing one
// (service removed, protocol changed) closes its connections and sessions too.
//
// TCP runs on the kernel relay engine (kernel-relay.ts: one epoll worker thread for every service
// port) by default; the Node `net` relay (tcp-relay.ts) stays as the fallback when the engine
// cannot start (koffi or libc missing on an unusual platform), and as `tcpEngine: 'node'`.
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily, ServicePortName } from '../../../model/types.ts';
import type { LoadBalancer } from '../load-balancer.ts';
import type { ListenerState, ListenProtocol } from '../plan.ts';
import type { KernelRelay, KernelRelayOptions, KernelTcpListener } from './kernel-relay.ts';
import { TcpRelay, type TcpRelayOptions } from './tcp-relay.ts';
import type { TimerWheel } from './timer-wheel.ts';
import { UdpRelay } from './udp-relay.ts';

export interface ListenersOptions {
  readonly family: IPFamily;
  /** '0.0.0.0' / '::' or one address of the node. */
  readonly listenIP: string;
  readonly lb: LoadBalancer;
  readonly wheel: TimerWheel;
  readonly logger: Logger;
  readonly udpIdleTimeoutMs?: number;
  readonly tcp?: Pick<TcpRelayOptions, 'maxConnections' | 'drainTimeoutMs' | 'dialTimeoutsMs' | 'highWaterMark'>;
  /** Which TCP relay runs (default 'kernel', falling back to 'node' when it cannot start). */
  readonly tcpEngine?: 'kernel' | 'node';
  /**
   * A listener moved to another port (its relay worker was restarted and the old port could not be
   * bound again), or is gone (port undefined: it could not listen again; the next sync opens it):
   * the portals must be rewritten.
   */
  readonly onRebound?: (name: ServicePortName, port: number | undefined) => void;
  /** The kernel engine's worker restarts (defaults), and test hooks in tests. */
  readonly kernel?: Pick<KernelRelayOptions, 'restartBackoff' | 'testHooks'>;
}

export interface Listener extends ListenerState {
  readonly port: number;
  readonly relay: KernelTcpListener | TcpRelay | UdpRelay;
}

export class Listeners {
  readonly #o: ListenersOptions;
  readonly #open = new Map<ServicePortName, Listener>();
  /** The kernel engine, started with the first TCP listener; null once it could not start. */
  #kernel: Promise<KernelRelay | null> | undefined;

  constructor(options: ListenersOptions) {
    this.#o = options;
  }

  get current(): ReadonlyMap<ServicePortName, Listener> {
    return this.#open;
  }

  async open(name: ServicePortName, protocol: ListenProtocol): Promise<Listener> {
    const o = this.#o;
    const kernel = protocol === 'TCP' ? await this.#kernelEngine() : null;
    const relay = kernel
      ? kernel.listener(name, o.lb, o.tcp)
      : protocol === 'TCP'
        ? new TcpRelay({ name, lb: o.lb, wheel: o.wheel, logger: o.logger, ...o.tcp })
        : new UdpRelay({
            name,
            family: o.family,
            lb: o.lb,
            wheel: o.wheel,
            logger: o.logger,
            ...(o.udpIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.udpIdleTimeoutMs }),
          });
    const port = await relay.listen(o.listenIP, 0);
    const listener: Listener = { protocol, port, relay };
    this.#open.set(name, listener);
    if ('onRebound' in relay)
      relay.onRebound = (moved) => {
        if (this.#open.get(name)?.relay !== relay) return;
        if (moved === undefined) this.#open.delete(name);
        else this.#open.set(name, { protocol, port: moved, relay });
        o.onRebound?.(name, moved);
      };
    return listener;
  }

  async close(name: ServicePortName): Promise<void> {
    const l = this.#open.get(name);
    if (!l) return;
    this.#open.delete(name);
    await l.relay.close();
  }

  /** Let every relay close or schedule the connections whose endpoint left its service port. */
  drainRemoved(): void {
    for (const l of this.#open.values()) l.relay.drainRemoved();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#open.keys()].map((n) => this.close(n)));
    const kernel = await this.#kernel;
    this.#kernel = undefined;
    await kernel?.stop();
  }

  /** The kernel engine if one was started (its restart counters; tests), else null. */
  async engine(): Promise<KernelRelay | null> {
    return (await this.#kernel) ?? null;
  }

  /** The one kernel engine, started on first use (opens never race to start two). */
  #kernelEngine(): Promise<KernelRelay | null> {
    this.#kernel ??= this.#startKernel();
    return this.#kernel;
  }

  async #startKernel(): Promise<KernelRelay | null> {
    if ((this.#o.tcpEngine ?? 'kernel') === 'node') return null;
    try {
      // Loaded on first use: a platform without koffi's binary still gets the Node relay.
      const { KernelRelay } = await import('./kernel-relay.ts');
      return new KernelRelay({
        logger: this.#o.logger,
        failureBackoffMs: this.#o.lb.failureBackoffMs,
        ...this.#o.kernel,
      });
    } catch (err) {
      this.#o.logger.warn({ err }, 'userspace: kernel TCP relay engine unavailable, relaying TCP with Node net');
      return null;
    }
  }
}
