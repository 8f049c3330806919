// Builders for the domain types in tests: one place that knows every field of ServicePort and
// Endpoint, so a new field is added here and not in each suite. Tests override what they need.
import type { Endpoint, ServicePort } from '../types.ts';

/** A TCP ClusterIP service port `ns/name[:portName]` on 10.96.0.10:80 with every option off. */
export function servicePort(ns: string, name: string, over: Partial<ServicePort> = {}): ServicePort {
  const portName = over.portName ?? '';
  return {
    name: portName === '' ? `${ns}/${name}` : `${ns}/${name}:${portName}`,
    namespace: ns,
    serviceName: name,
    portName,
    protocol: 'TCP',
    family: 'IPv4',
    clusterIP: '10.96.0.10',
    port: 80,
    nodePort: 0,
    externalIPs: [],
    loadBalancerVIPs: [],
    loadBalancerSourceRanges: [],
    sessionAffinity: { type: 'None', timeoutSeconds: 0 },
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    healthCheckNodePort: 0,
    trafficDistribution: '',
    topologyMode: '',
    ...over,
  };
}

/** A ready, serving, non-terminating endpoint on no particular node. */
export function endpoint(ip: string, port: number, over: Partial<Endpoint> = {}): Endpoint {
  return {
    ip,
    port,
    ready: true,
    serving: true,
    terminating: false,
    isLocal: false,
    nodeName: '',
    zone: '',
    zoneHints: undefined,
    nodeHints: undefined,
    ...over,
  };
}
