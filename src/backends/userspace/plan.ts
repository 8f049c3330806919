// What one userspace sync must do: which listeners to open and close (one per service port, as
// upstream v1.25 userspace/proxier.go mergeService/unmergeService), and which targets each
// service port's load balancer gets. Pure: the I/O shell opens the sockets and applies the rules.
import { categorizeEndpoints } from '../../model/topology.ts';
import type { Endpoint, NodeInfo, ProxyState, ServicePort, ServicePortName, SessionAffinity } from '../../model/types.ts';
import { makeTarget, type Target } from './load-balancer.ts';

export type ListenProtocol = 'TCP' | 'UDP';

/** A listener the daemon holds, as the plan sees it. */
export interface ListenerState {
  readonly protocol: ListenProtocol;
}

export interface ListenerPlan {
  readonly open: readonly { readonly name: ServicePortName; readonly protocol: ListenProtocol }[];
  /** Closed: the service port is gone, or its protocol changed (it is reopened in `open`). */
  readonly close: readonly ServicePortName[];
  /** Service ports the mode cannot serve, with the reason (logged once per sync). */
  readonly unsupported: readonly { readonly name: ServicePortName; readonly reason: string }[];
}

/** Service ports the userspace proxy serves: TCP and UDP with a ClusterIP (upstream ShouldSkipService). */
function serveable(s: ServicePort): string | null {
  if (s.protocol !== 'TCP' && s.protocol !== 'UDP') return `protocol ${s.protocol} is not supported in userspace mode`;
  if (s.clusterIP === '' || s.clusterIP === 'None') return 'headless service';
  return null;
}

export function planListeners(
  services: ReadonlyMap<ServicePortName, ServicePort>,
  current: ReadonlyMap<ServicePortName, ListenerState>,
): ListenerPlan {
  const open: { name: ServicePortName; protocol: ListenProtocol }[] = [];
  const close: ServicePortName[] = [];
  const unsupported: { name: ServicePortName; reason: string }[] = [];
  for (const [name, s] of services) {
    const reason = serveable(s);
    if (reason !== null) {
      // Headless services are simply not proxied (as upstream); only real gaps are reported.
      if (s.protocol !== 'TCP' && s.protocol !== 'UDP') unsupported.push({ name, reason });
      continue;
    }
    const protocol = s.protocol as ListenProtocol;
    const have = current.get(name);
    if (have?.protocol === protocol) continue;
    if (have) close.push(name);
    open.push({ name, protocol });
  }
  for (const [name] of current) {
    const s = services.get(name);
    if (!s || serveable(s) !== null) close.push(name);
  }
  const byName = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  open.sort((x, y) => byName(x.name, y.name));
  close.sort(byName);
  return { open, close, unsupported };
}

/** One service port's load-balancer input. */
export interface BackendSet {
  readonly affinity: SessionAffinity;
  readonly targets: readonly Target[];
}

/**
 * The shared topology selection (model/topology.ts), internal traffic policy. The daemon listens
 * once per service port and cannot tell a ClusterIP connection from a NodePort one, so the
 * internal policy applies to both (upstream v1.25 userspace had no traffic policies at all).
 */
export function selectEndpoints(service: ServicePort, endpoints: readonly Endpoint[], node: NodeInfo): readonly Endpoint[] {
  const c = categorizeEndpoints(endpoints, service, node);
  return service.internalPolicyLocal ? c.localEndpoints : c.clusterEndpoints;
}

/** Targets per served service port, deduplicated and in a stable order so round robin is predictable. */
export function planBackends(state: ProxyState): Map<ServicePortName, BackendSet> {
  const out = new Map<ServicePortName, BackendSet>();
  for (const [name, s] of state.services) {
    if (serveable(s) !== null) continue;
    const seen = new Set<string>();
    const targets: Target[] = [];
    for (const e of selectEndpoints(s, state.endpoints.get(name) ?? [], state.node)) {
      const t = makeTarget(e.ip, e.port);
      if (seen.has(t.key)) continue;
      seen.add(t.key);
      targets.push(t);
    }
    targets.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    out.set(name, { affinity: s.sessionAffinity, targets });
  }
  return out;
}
