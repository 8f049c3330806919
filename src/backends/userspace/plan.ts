// What one userspace sync must do: which listeners to open and close (one per service port, as
// upstream v1.25 userspace/proxier.go mergeService/unmergeService, plus one for external traffic
// under externalTrafficPolicy: Local), and which targets each listener's load balancer entry gets.
// Pure: the I/O shell opens the sockets and applies the rules.
import { categorizeEndpoints, externallyAccessible } from '../../model/topology.ts';
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

/**
 * externalTrafficPolicy: Local. Upstream v1.25 userspace ignored it (its LoadBalancerRR took every
 * ready address of the Endpoints object). Ours does what the policy promises in the other modes:
 * traffic from outside the node to a NodePort, externalIP or LB IP goes only to this node's
 * endpoints (none: the connection is closed, so a load balancer's health check on
 * healthCheckNodePort, which counts the same local endpoints, matches what the node serves).
 * The daemon cannot tell a redirected connection's original address, so such a service port gets a
 * second listener, and the portals send external traffic there. The client's source address is not
 * preserved either way: the daemon makes the upstream connection.
 */
export function hasExternalListener(s: ServicePort): boolean {
  return s.externalPolicyLocal && externallyAccessible(s);
}

/** The load-balancer and listener key of a service port's external-traffic listener. */
export function externalListenerName(name: ServicePortName): ServicePortName {
  return `${name}#external`;
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
  const wanted = new Map<ServicePortName, ListenProtocol>();
  const unsupported: { name: ServicePortName; reason: string }[] = [];
  for (const [name, s] of services) {
    const reason = serveable(s);
    if (reason !== null) {
      // Headless services are simply not proxied (as upstream); only real gaps are reported.
      if (s.protocol !== 'TCP' && s.protocol !== 'UDP') unsupported.push({ name, reason });
      continue;
    }
    const protocol = s.protocol as ListenProtocol;
    wanted.set(name, protocol);
    if (hasExternalListener(s)) wanted.set(externalListenerName(name), protocol);
  }
  const open: { name: ServicePortName; protocol: ListenProtocol }[] = [];
  const close: ServicePortName[] = [];
  for (const [name, protocol] of wanted) {
    const have = current.get(name);
    if (have?.protocol === protocol) continue;
    if (have) close.push(name);
    open.push({ name, protocol });
  }
  for (const [name] of current) if (!wanted.has(name)) close.push(name);
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
 * The shared topology selection (model/topology.ts). The main listener takes ClusterIP traffic and
 * everything from the node and its pods, so the internal policy applies to it (upstream v1.25
 * userspace had no traffic policies at all); the external listener gets the local endpoints.
 */
export function selectEndpoints(
  service: ServicePort,
  endpoints: readonly Endpoint[],
  node: NodeInfo,
): { readonly internal: readonly Endpoint[]; readonly external: readonly Endpoint[] } {
  const c = categorizeEndpoints(endpoints, service, node);
  return { internal: service.internalPolicyLocal ? c.localEndpoints : c.clusterEndpoints, external: c.localEndpoints };
}

/** Deduplicated and in a stable order so round robin is predictable. */
function targetsOf(endpoints: readonly Endpoint[]): Target[] {
  const seen = new Set<string>();
  const targets: Target[] = [];
  for (const e of endpoints) {
    const t = makeTarget(e.ip, e.port);
    if (seen.has(t.key)) continue;
    seen.add(t.key);
    targets.push(t);
  }
  return targets.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/** Targets per listener (service port, and its external listener when it has one). */
export function planBackends(state: ProxyState): Map<ServicePortName, BackendSet> {
  const out = new Map<ServicePortName, BackendSet>();
  for (const [name, s] of state.services) {
    if (serveable(s) !== null) continue;
    const selected = selectEndpoints(s, state.endpoints.get(name) ?? [], state.node);
    out.set(name, { affinity: s.sessionAffinity, targets: targetsOf(selected.internal) });
    if (hasExternalListener(s)) out.set(externalListenerName(name), { affinity: s.sessionAffinity, targets: targetsOf(selected.external) });
  }
  return out;
}

/**
 * The served service ports with no endpoints anywhere (upstream hasAnyEndpoints false): their
 * portals give way to REJECT rules (filter-rules.ts). A change of this set rewrites the rules in
 * the same sync, even when only EndpointSlices changed.
 */
export function portsWithoutEndpoints(state: ProxyState): Set<ServicePortName> {
  const out = new Set<ServicePortName>();
  for (const [name, s] of state.services) {
    if (serveable(s) !== null) continue;
    if (!categorizeEndpoints(state.endpoints.get(name) ?? [], s, state.node).hasAnyEndpoints) out.add(name);
  }
  return out;
}
