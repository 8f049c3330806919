// The UDP conntrack reconciler's decision, as upstream pkg/proxy/conntrack CleanStaleEntries
// (v1.32, #127318; targetPort considered since v1.34, #130542): after a sync, every UDP flow in
// the kernel is compared with the programmed services. A flow whose original destination is a
// service IP and port (ClusterIP, externalIP, LB IP), or a NodePort, and whose reply comes from
// anything but a serving endpoint of that service port (its IP and target port) is stale and
// deleted. That covers an endpoint that went away (the flow keeps its DNAT while packets keep
// coming, kubernetes#19029), a service port going from N endpoints to none (kubernetes#139628:
// the set is empty, so every NATed flow goes), from none to some (flows created while it was
// rejected are un-NATed: their reply source is the service IP), and whatever changed while the
// daemon was down, without flushing the flows that are still right (kubernetes#122740). Pure.
import type { Endpoint, ServicePort, ServicePortName } from '../../model/types.ts';

/** One UDP conntrack entry of one family, as the reconciler reads it. */
export interface UdpFlow {
  readonly origDst: string;
  readonly origDstPort: number;
  readonly replySrc: string;
  readonly replySrcPort: number;
}

/** A deletion: the flows to `ip`:`port` (or to any local address on NodePort `port`) answered by `replySrc`:`replySrcPort`. */
export type StaleFlowFilter =
  | { readonly kind: 'service-port'; readonly ip: string; readonly port: number; readonly replySrc: string; readonly replySrcPort: number }
  | { readonly kind: 'nodeport'; readonly port: number; readonly replySrc: string; readonly replySrcPort: number };

const key = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** IPs are compared as the kernel prints them; the model's addresses are canonical too. */
export function staleUdpFlows(
  flows: Iterable<UdpFlow>,
  services: Iterable<ServicePort>,
  endpoints: ReadonlyMap<ServicePortName, readonly Endpoint[]>,
): StaleFlowFilter[] {
  const byServiceIP = new Map<string, ReadonlySet<string>>();
  const byNodePort = new Map<number, ReadonlySet<string>>();
  for (const s of services) {
    if (s.protocol !== 'UDP') continue;
    const serving = new Set<string>();
    for (const e of endpoints.get(s.name) ?? []) if (e.serving) serving.add(key(e.ip, e.port));
    for (const ip of [s.clusterIP, ...s.loadBalancerVIPs, ...s.externalIPs]) {
      if (ip !== '' && ip !== 'None') byServiceIP.set(key(ip, s.port), serving);
    }
    if (s.nodePort !== 0) byNodePort.set(s.nodePort, serving);
  }
  const out = new Map<string, StaleFlowFilter>();
  for (const f of flows) {
    const reply = key(f.replySrc, f.replySrcPort);
    const service = byServiceIP.get(key(f.origDst, f.origDstPort));
    if (service !== undefined && !service.has(reply)) {
      out.set(`s ${key(f.origDst, f.origDstPort)} ${reply}`, { kind: 'service-port', ip: f.origDst, port: f.origDstPort, replySrc: f.replySrc, replySrcPort: f.replySrcPort });
    }
    const nodePort = byNodePort.get(f.origDstPort);
    if (nodePort !== undefined && !nodePort.has(reply)) {
      out.set(`n ${f.origDstPort} ${reply}`, { kind: 'nodeport', port: f.origDstPort, replySrc: f.replySrc, replySrcPort: f.replySrcPort });
    }
  }
  return [...out.values()];
}
