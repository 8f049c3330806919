// The daemon's listening sockets, one per served service port (upstream v1.25
// addServiceOnPortInternal: a proxy socket on listenIP with a kernel-chosen port). Closing one
// (service removed, protocol changed) closes its connections and sessions too.
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily, ServicePortName } from '../../../model/types.ts';
import type { LoadBalancer } from '../load-balancer.ts';
import type { ListenerState, ListenProtocol } from '../plan.ts';
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
}

export interface Listener extends ListenerState {
  readonly port: number;
  readonly relay: TcpRelay | UdpRelay;
}

export class Listeners {
  readonly #o: ListenersOptions;
  readonly #open = new Map<ServicePortName, Listener>();

  constructor(options: ListenersOptions) {
    this.#o = options;
  }

  get current(): ReadonlyMap<ServicePortName, Listener> {
    return this.#open;
  }

  async open(name: ServicePortName, protocol: ListenProtocol): Promise<Listener> {
    const o = this.#o;
    const relay =
      protocol === 'TCP'
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
  }
}
