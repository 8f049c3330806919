// Shared builders for this backend's unit tests (not a test file itself).
import type { Endpoint, NodeInfo, ProxyState, ServicePort } from '../../model/types.ts';

export function svc(over: Partial<ServicePort> & { name: string }): ServicePort {
  return {
    namespace: 'ns',
    serviceName: 'svc',
    portName: 'http',
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

export function ep(ip: string, over: Partial<Endpoint> = {}): Endpoint {
  return {
    ip,
    port: 8080,
    ready: true,
    serving: true,
    terminating: false,
    isLocal: false,
    nodeName: 'node-2',
    zone: '',
    zoneHints: undefined,
    nodeHints: undefined,
    ...over,
  };
}

export const node: NodeInfo = { name: 'node-1', labels: {}, zone: '', podCIDRs: ['10.244.1.0/24'], eligible: true };

export function state(services: readonly ServicePort[], endpoints: Record<string, readonly Endpoint[]> = {}): ProxyState {
  return {
    family: 'IPv4',
    services: new Map(services.map((s) => [s.name, s])),
    endpoints: new Map(Object.entries(endpoints)),
    node,
    changedServices: new Set(),
    changedEndpoints: new Set(),
    removedEndpoints: new Map(),
    full: true,
  };
}
