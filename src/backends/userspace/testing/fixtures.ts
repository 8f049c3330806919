// Shared builders for this backend's unit tests (not a test file itself).
import { endpoint, servicePort } from '../../../model/testing/fixtures.ts';
import type { Endpoint, NodeInfo, ProxyState, ServicePort } from '../../../model/types.ts';

export function svc(over: Partial<ServicePort> & { name: string }): ServicePort {
  return servicePort('ns', 'svc', { portName: 'http', ...over });
}

export function ep(ip: string, over: Partial<Endpoint> = {}): Endpoint {
  return endpoint(ip, 8080, { nodeName: 'node-2', ...over });
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
