// The desired IPVS state for one family, from ProxyState (upstream pkg/proxy/ipvs/proxier.go
// syncProxyRules, the per-service loop): one virtual server per ClusterIP, externalIP and
// load-balancer IP × port × protocol, and one per node address for NodePorts; real servers are the
// endpoints categorizeEndpoints selects (weight 1, masquerade, no thresholds: upstream syncEndpoint);
// ClientIP affinity is persistence with the Service's timeout and a /32 (/128) netmask. The
// addresses to bind on kube-ipvs0 are the ClusterIPs, plus externalIPs and LB IPs that are not
// already on another interface of the node. Pure: host facts come in as options.
import { describeDestination, describeService, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED2 } from '../../netlink/ipvs.ts';
import type { IpvsDestination, IpvsService, IpvsServiceKey } from '../../netlink/ipvs.ts';
import { categorizeEndpoints } from '../../model/topology.ts';
import type { Endpoint, IPFamily, ProxyState, ServicePort, ServicePortName } from '../../model/types.ts';
import { familyOf } from '../../model/ip.ts';

export const DEFAULT_SCHEDULER = 'rr';

export interface IpvsPlanOptions {
  /** `--ipvs-scheduler`; '' means rr (upstream DefaultScheduler). */
  readonly scheduler: string;
  /** Addresses NodePorts are served on: node addresses of the family (not kube-ipvs0, loopback, link-local). */
  readonly nodePortIPs: readonly string[];
  /** Every address on the node's other interfaces: externalIPs/LB IPs among them are not bound. */
  readonly localAddresses: ReadonlySet<string>;
}

export type VirtualServerKind = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort';

export interface DesiredVirtualServer {
  /** describeService(service): `10.96.0.10:53/UDP`. */
  readonly key: string;
  readonly service: IpvsService;
  readonly owner: ServicePortName;
  readonly kind: VirtualServerKind;
  /** By describeDestination: `10.244.1.5:8080`. */
  readonly destinations: ReadonlyMap<string, IpvsDestination>;
}

export interface IpvsPlan {
  readonly family: IPFamily;
  readonly virtualServers: ReadonlyMap<string, DesiredVirtualServer>;
  /** Virtual-server keys per service port (to narrow a partial sync to what changed). */
  readonly byServicePort: ReadonlyMap<ServicePortName, readonly string[]>;
  /** Addresses that belong on kube-ipvs0. */
  readonly boundAddresses: ReadonlySet<string>;
  /** Virtual servers claimed by two service ports (first by name wins), for a warning. */
  readonly conflicts: readonly { readonly key: string; readonly owner: ServicePortName; readonly loser: ServicePortName }[];
}


export const serviceKey = (k: IpvsServiceKey): string => describeService(k);
export const destinationKey = (d: { readonly address: string; readonly port: number }): string => describeDestination(d);

/** Upstream: `mh` always gets the source-port hash flag (FlagSourceHash, IP_VS_SVC_F_SCHED2). */
function baseService(svc: ServicePort, family: IPFamily, scheduler: string): Omit<IpvsService, 'address' | 'port'> {
  const sched = scheduler === '' ? DEFAULT_SCHEDULER : scheduler;
  let flags = sched === 'mh' ? IP_VS_SVC_F_SCHED2 : 0;
  let timeout = 0;
  if (svc.sessionAffinity.type === 'ClientIP') {
    flags |= IP_VS_SVC_F_PERSISTENT;
    timeout = svc.sessionAffinity.timeoutSeconds;
  }
  return { family, protocol: svc.protocol, scheduler: sched, flags, timeout, prefixLength: family === 'IPv4' ? 32 : 128 };
}

function destinations(eps: readonly Endpoint[]): Map<string, IpvsDestination> {
  const out = new Map<string, IpvsDestination>();
  for (const ep of eps) {
    const d: IpvsDestination = { address: ep.ip, port: ep.port, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 };
    out.set(destinationKey(d), d);
  }
  return out;
}

/** The endpoints behind one service port, for internal (ClusterIP) and external addresses. */
export function selectEndpoints(svc: ServicePort, eps: readonly Endpoint[], node: ProxyState['node']): SelectedEndpoints {
  const c = categorizeEndpoints(eps, svc, node);
  const internal = svc.internalPolicyLocal ? c.localEndpoints : c.clusterEndpoints;
  // eTP=Local without a local endpoint falls back to the cluster's, so pods on this node can still
  // reach the Service through its external address (upstream syncEndpoint, kubernetes PR #97081).
  const external = svc.externalPolicyLocal ? (c.localEndpoints.length > 0 ? c.localEndpoints : c.clusterEndpoints) : c.clusterEndpoints;
  // Upstream syncEndpoint counts a Service in serviceNoLocalEndpoints{Internal,External} when its
  // policy is Local, it has endpoints, and none is on this node.
  const noLocal = c.hasAnyEndpoints && c.localEndpoints.length === 0;
  return { internal, external, noLocalInternal: noLocal && svc.internalPolicyLocal, noLocalExternal: noLocal && svc.externalPolicyLocal };
}

export interface SelectedEndpoints {
  readonly internal: readonly Endpoint[];
  readonly external: readonly Endpoint[];
  /** A Local internal policy with endpoints, none of them local (kubeproxy_sync_proxy_rules_no_local_endpoints_total). */
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

/** One service port's virtual servers (a key claimed twice by the port counts once) and addresses to bind. */
export interface PortVirtualServers {
  readonly virtualServers: readonly DesiredVirtualServer[];
  readonly bound: readonly string[];
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

/** The part of the plan one service port contributes, whoever else claims the same keys. */
export function planPort(name: ServicePortName, svc: ServicePort, eps: readonly Endpoint[], node: ProxyState['node'], opts: IpvsPlanOptions): PortVirtualServers {
  const family = svc.family;
  const base = baseService(svc, family, opts.scheduler);
  const { internal, external, noLocalInternal, noLocalExternal } = selectEndpoints(svc, eps, node);
  const internalDests = destinations(internal);
  const externalDests = internal === external ? internalDests : destinations(external);
  const virtualServers: DesiredVirtualServer[] = [];
  const bound: string[] = [];
  const seen = new Set<string>();
  const add = (address: string, port: number, kind: VirtualServerKind, dests: ReadonlyMap<string, IpvsDestination>): void => {
    const service: IpvsService = { ...base, address, port };
    const key = serviceKey(service);
    if (seen.has(key)) return;
    seen.add(key);
    virtualServers.push({ key, service, owner: name, kind, destinations: dests });
  };
  if (svc.clusterIP !== '') {
    add(svc.clusterIP, svc.port, 'clusterIP', internalDests);
    bound.push(svc.clusterIP);
  }
  for (const ip of svc.externalIPs) {
    add(ip, svc.port, 'externalIP', externalDests);
    // An address already on a node interface is reachable as it is (upstream: "bind only if not local").
    if (!opts.localAddresses.has(ip)) bound.push(ip);
  }
  for (const ip of svc.loadBalancerVIPs) {
    add(ip, svc.port, 'loadBalancer', externalDests);
    if (!opts.localAddresses.has(ip)) bound.push(ip);
  }
  if (svc.nodePort !== 0) for (const ip of opts.nodePortIPs) add(ip, svc.nodePort, 'nodePort', externalDests);
  return { virtualServers, bound, noLocalInternal, noLocalExternal };
}

/** Service port names in the order that decides who owns a contested virtual server: by name. */
export const byName = (a: ServicePortName, b: ServicePortName): number => (a < b ? -1 : a > b ? 1 : 0);

export function planIpvs(state: ProxyState, opts: IpvsPlanOptions): IpvsPlan {
  const family = state.family;
  const virtualServers = new Map<string, DesiredVirtualServer>();
  const byServicePort = new Map<ServicePortName, string[]>();
  const boundAddresses = new Set<string>();
  const conflicts: { key: string; owner: ServicePortName; loser: ServicePortName }[] = [];
  for (const name of [...state.services.keys()].sort(byName)) {
    const svc = state.services.get(name);
    if (svc === undefined || svc.family !== state.family) continue;
    const port = planPort(name, svc, state.endpoints.get(name) ?? [], state.node, opts);
    const keys: string[] = [];
    for (const vs of port.virtualServers) {
      const prior = virtualServers.get(vs.key);
      if (prior !== undefined) {
        conflicts.push({ key: vs.key, owner: prior.owner, loser: name });
        continue;
      }
      virtualServers.set(vs.key, vs);
      keys.push(vs.key);
    }
    for (const a of port.bound) boundAddresses.add(a);
    byServicePort.set(name, keys);
  }
  return { family, virtualServers, byServicePort, boundAddresses, conflicts };
}

/** Node addresses NodePorts use: the family's, minus loopback and IPv6 link-local (upstream GetNodeIPs for IPVS). */
export function nodePortCandidates(addresses: readonly string[], family: IPFamily): string[] {
  return addresses.filter((a) => {
    if (family === 'IPv4') return familyOf(a) === 'IPv4' && !a.startsWith('127.');
    return familyOf(a) === 'IPv6' && a !== '::1' && !a.toLowerCase().startsWith('fe80:');
  });
}
