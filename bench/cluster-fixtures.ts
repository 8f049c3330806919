// Synthetic cluster objects for the benchmarks: N ClusterIP Services, each with one EndpointSlice
// of E ready endpoints, in the address plan of DEVELOPERS.md (services 10.96.0.0/16, pods
// 10.244.0.0/16). 100k endpoints do not fit in a /16, so pod addresses wrap and the target port
// grows instead: every IP:port stays unique, as endpoints of distinct pods would be.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { ClusterState } from '../src/model/cluster-state.ts';

export const BENCH_NODE = 'node-0';
const POD_ADDRESSES = 65_530; // a multiple of 10: no slice straddles a wrap

export function serviceName(i: number): string {
  return `svc-${i}`;
}

export function clusterIP(i: number): string {
  const n = i + 10;
  return `10.96.${(n >> 8) & 255}.${n & 255}`;
}

export function makeService(i: number): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(i), namespace: 'bench', resourceVersion: '1' },
    spec: { type: 'ClusterIP', clusterIP: clusterIP(i), clusterIPs: [clusterIP(i)], ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  };
}

function podAddress(k: number): { ip: string; port: number } {
  const a = (k % POD_ADDRESSES) + 1;
  return { ip: `10.244.${(a >> 8) & 255}.${a & 255}`, port: 8080 + Math.floor(k / POD_ADDRESSES) };
}

/**
 * Service i's slice; `version` bumps its resourceVersion, and its parity flips the first endpoint's
 * Ready condition (one endpoint changing, the commonest real update).
 */
export function makeSlice(i: number, perService: number, version = 1): V1EndpointSlice {
  const base = podAddress(i * perService);
  const endpoints = Array.from({ length: perService }, (_, j) => ({
    addresses: [podAddress(i * perService + j).ip],
    conditions: { ready: j !== 0 || version % 2 === 1, serving: true, terminating: false },
    nodeName: `node-${j % 3}`,
    zone: 'zone-a',
  }));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${serviceName(i)}-abcde`,
      namespace: 'bench',
      resourceVersion: String(version),
      labels: { 'kubernetes.io/service-name': serviceName(i), 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
    },
    addressType: 'IPv4',
    endpoints,
    // One port per slice, so a slice's endpoints share it; the wrap above changes it per slice at most.
    ports: [{ name: 'http', port: base.port, protocol: 'TCP' }],
  };
}

/** A synced IPv4 ClusterState holding N Services × E endpoints: what the bench proxiers sync from. */
export function benchClusterState(services: number, perService: number): ClusterState {
  const state = new ClusterState({ nodeName: BENCH_NODE, families: ['IPv4'], requireNode: false });
  state.replace('Service', Array.from({ length: services }, (_, i) => makeService(i)));
  state.replace('EndpointSlice', Array.from({ length: services }, (_, i) => makeSlice(i, perService)));
  state.synced('Service');
  state.synced('EndpointSlice');
  return state;
}

/** The IP:port the slice of Service i gives its endpoint j (what a probe connects to directly). */
export function endpointAddress(i: number, perService: number, j = 0): { ip: string; port: number } {
  const ip = podAddress(i * perService + j).ip;
  return { ip, port: podAddress(i * perService).port };
}
