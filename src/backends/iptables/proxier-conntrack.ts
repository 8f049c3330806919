// Which UDP conntrack flows to delete after a successful sync (pure), after upstream's
// pkg/proxy/conntrack CleanStaleEntries of the iptables proxier before the netlink reconciler:
// - an endpoint went away: its flows, per service IP and NodePort (kubernetes/kubernetes#19029);
// - a service port went from no endpoints to some: every flow to its IPs, since packets sent
//   while it was rejected left un-NATed entries that would keep bypassing the new DNAT;
// - a UDP service port went away: every flow to its IPs.
// Nothing is deleted on the first sync after start: everything would look new, and flushing all
// UDP flows on each restart is its own bug (kubernetes/kubernetes#122740).
import type { Endpoint, ProxyState, ServicePort, ServicePortName } from '../../model/types.ts';
import type { ConntrackFilter } from '../../system/conntrack.ts';

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
