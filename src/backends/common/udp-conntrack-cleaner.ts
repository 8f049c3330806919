// Which UDP conntrack flows to delete after a successful sync, for every mode that NATs UDP in the
// kernel (iptables, ipvs): upstream's pkg/proxy/conntrack CleanStaleEntries, which both the
// iptables and the ipvs proxier call at the end of syncProxyRules. Pure: the deletions go through
// the injected Conntrack (src/system/conntrack.ts).
// - an endpoint went away: its flows, per service IP and NodePort (kubernetes/kubernetes#19029);
// - a service port went from no endpoints to some: every flow to its IPs, since packets sent
//   while it was rejected left un-NATed entries that would keep bypassing the new DNAT;
// - a UDP service port went away: every flow to its IPs.
// Nothing is deleted on the first sync after start: everything would look new, and flushing all
// UDP flows on each restart is its own bug (kubernetes/kubernetes#122740).
import type { Logger } from '../../model/logger.ts';
import type { Endpoint, IPFamily, ProxyState, ServicePort, ServicePortName } from '../../model/types.ts';
import type { BackendMetrics } from '../../sync/sync-metrics.ts';
import type { Conntrack, ConntrackFilter } from '../../system/conntrack.ts';
import { reconcileUdpConntrack } from './conntrack-reconciler.ts';

export interface UdpServiceMemo {
  /** ClusterIP, externalIPs and load-balancer IPs. */
  readonly ips: readonly string[];
  readonly nodePort: number;
  readonly hasEndpoints: boolean;
}

export interface ConntrackTask {
  readonly service: ServicePortName;
  readonly filter: ConntrackFilter;
}

const usable = (e: Endpoint): boolean => e.ready || (e.serving && e.terminating);

export function udpServiceMemo(svc: ServicePort, endpoints: readonly Endpoint[]): UdpServiceMemo {
  return {
    ips: [svc.clusterIP, ...svc.externalIPs, ...svc.loadBalancerVIPs].filter((ip) => ip !== ''),
    nodePort: svc.nodePort,
    hasEndpoints: endpoints.some(usable),
  };
}

/** The UDP service ports of a state, as the next sync's `previous`. */
export function udpServiceMemos(state: ProxyState): Map<ServicePortName, UdpServiceMemo> {
  const out = new Map<ServicePortName, UdpServiceMemo>();
  for (const svc of state.services.values()) {
    if (svc.protocol === 'UDP') out.set(svc.name, udpServiceMemo(svc, state.endpoints.get(svc.name) ?? []));
  }
  return out;
}

function allFlows(service: ServicePortName, m: UdpServiceMemo): ConntrackTask[] {
  const out: ConntrackTask[] = m.ips.map((ip) => ({ service, filter: { kind: 'service-ip', ip } }));
  if (m.nodePort !== 0) out.push({ service, filter: { kind: 'nodeport', port: m.nodePort } });
  return out;
}

export function conntrackWork(
  state: ProxyState,
  previous: ReadonlyMap<ServicePortName, UdpServiceMemo> | undefined,
  current: ReadonlyMap<ServicePortName, UdpServiceMemo>,
): ConntrackTask[] {
  if (previous === undefined) return [];
  const tasks: ConntrackTask[] = [];
  for (const [name, removed] of state.removedEndpoints) {
    const svc = current.get(name) ?? previous.get(name);
    if (svc === undefined) continue;
    const stillThere = new Set((state.endpoints.get(name) ?? []).map((e) => e.ip));
    for (const ep of removed) {
      if (stillThere.has(ep.ip)) continue;
      for (const ip of svc.ips) tasks.push({ service: name, filter: { kind: 'service-ip-to-endpoint', ip, endpointIP: ep.ip } });
      if (svc.nodePort !== 0) {
        tasks.push({ service: name, filter: { kind: 'nodeport-to-endpoint', port: svc.nodePort, endpointIP: ep.ip } });
      }
    }
  }
  for (const [name, now] of current) {
    const before = previous.get(name);
    if (now.hasEndpoints && (before === undefined || !before.hasEndpoints)) tasks.push(...allFlows(name, now));
  }
  for (const [name, before] of previous) if (!current.has(name)) tasks.push(...allFlows(name, before));
  return tasks;
}

export interface UdpConntrackCleanerOptions {
  readonly family: IPFamily;
  /** Absent (--dry-run): the memo is still kept, nothing is deleted. */
  readonly conntrack?: Conntrack;
  readonly logger: Logger;
  /** For the reconciler's metrics (upstream CleanStaleEntries). */
  readonly metrics?: BackendMetrics;
  /** Milliseconds clock for the reconciler's duration metric (default Date.now). */
  readonly now?: () => number;
}

/**
 * Remembers the UDP service ports of the last successful sync and deletes the stale flows after
 * the next one. Call `afterSync` only once the kernel holds the new state (rules, real servers):
 * a flow deleted earlier would be re-created by the next packet through the old state.
 */
export class UdpConntrackCleaner {
  readonly #o: UdpConntrackCleanerOptions;
  #previous: Map<ServicePortName, UdpServiceMemo> | undefined;
  /** Endpoints removed in syncs that failed: their flows are still to be deleted. */
  #carried = new Map<ServicePortName, Endpoint[]>();

  constructor(options: UdpConntrackCleanerOptions) {
    this.#o = options;
  }

  /**
   * A sync failed: the state it carried is gone from the change tracker, so keep its removed
   * endpoints for the next successful sync (`previous` stays that of the last success).
   */
  syncFailed(state: ProxyState): void {
    for (const [name, eps] of state.removedEndpoints) this.#carried.set(name, [...(this.#carried.get(name) ?? []), ...eps]);
  }

  /** Deletes the stale flows; failures are logged, never thrown (the sync itself succeeded). Returns the tasks run. */
  async afterSync(state: ProxyState): Promise<readonly ConntrackTask[]> {
    const current = udpServiceMemos(state);
    const tasks = conntrackWork(this.#withCarried(state), this.#previous, current);
    this.#previous = current;
    this.#carried.clear();
    const ct = this.#o.conntrack;
    if (ct === undefined) return tasks;
    for (const t of tasks) {
      try {
        await ct.clear(this.#o.family, 'UDP', t.filter);
      } catch (err) {
        this.#o.logger.error({ family: this.#o.family, service: t.service, filter: t.filter, err }, 'conntrack clean-up failed');
      }
    }
    // Then the reconciler (upstream since v1.32): whatever the change-based deletions above could
    // not know of (a change while the daemon was down, a targetPort change) is found by comparing
    // the kernel's UDP flows with this state.
    await reconcileUdpConntrack(
      { family: this.#o.family, conntrack: ct, logger: this.#o.logger, now: this.#o.now ?? Date.now, ...(this.#o.metrics ? { metrics: this.#o.metrics } : {}) },
      state,
    );
    return tasks;
  }

  #withCarried(state: ProxyState): ProxyState {
    if (this.#carried.size === 0) return state;
    const removed = new Map<ServicePortName, readonly Endpoint[]>(this.#carried);
    for (const [name, eps] of state.removedEndpoints) removed.set(name, [...(removed.get(name) ?? []), ...eps]);
    return { ...state, removedEndpoints: removed };
  }
}
