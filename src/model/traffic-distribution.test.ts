// Issue 13, trafficDistribution: the whole path from API objects to the endpoints a node uses.
// The EndpointSlice controller turns spec.trafficDistribution (PreferSameZone, PreferSameNode, and
// PreferClose, the deprecated alias of PreferSameZone) and the service.kubernetes.io/topology-mode
// annotation into hints (forZones, forNodes); kube-proxy reads only the hints (upstream
// pkg/proxy/topology.go topologyModeFromHints, all-or-nothing per kind, node hints first). Each case
// is a Service and an EndpointSlice as the controller writes them, through ClusterState's parsing,
// to categorizeEndpoints; the expectations are upstream TestCategorizeEndpoints' rules: topology
// applies only when every ready endpoint carries a hint of that kind and one names this node (or
// its zone), otherwise it falls back (node hints → zone hints → none).
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ClusterState } from './cluster-state.ts';
import { categorizeEndpoints } from './topology.ts';

interface Ep {
  readonly ip: string;
  readonly node: string;
  readonly zones?: readonly string[];
  readonly nodes?: readonly string[];
  readonly ready?: boolean;
}

interface Case {
  readonly name: string;
  /** spec.trafficDistribution. */
  readonly distribution?: string;
  /** The service.kubernetes.io/topology-mode annotation. */
  readonly topologyMode?: string;
  readonly externalLocal?: boolean;
  /** This node and its zone label ('' = no label). */
  readonly node: string;
  readonly zone: string;
  readonly endpoints: readonly Ep[];
  readonly cluster: readonly string[];
  readonly local?: readonly string[];
}

const A1 = '10.244.1.10';
const A2 = '10.244.1.11';
const B1 = '10.244.2.10';
const C1 = '10.244.3.10';

/** Three nodes: node-a and node-b in zone-a, node-c in zone-b (as the controller would hint them). */
const zoned = (extra: Partial<Record<string, Partial<Ep>>> = {}): Ep[] => [
  { ip: A1, node: 'node-a', zones: ['zone-a'], ...extra[A1] },
  { ip: A2, node: 'node-a', zones: ['zone-a'], ...extra[A2] },
  { ip: B1, node: 'node-b', zones: ['zone-a'], ...extra[B1] },
  { ip: C1, node: 'node-c', zones: ['zone-b'], ...extra[C1] },
];
/** PreferSameNode as the controller writes it: each endpoint hinted for its own node, plus its zone. */
const perNode = (extra: Partial<Record<string, Partial<Ep>>> = {}): Ep[] =>
  zoned(extra).map((e) => ({ ...e, nodes: extra[e.ip]?.nodes ?? [e.node] }));

const CASES: readonly Case[] = [
  { name: 'PreferSameZone: the zone-a endpoints from a zone-a node', distribution: 'PreferSameZone', node: 'node-a', zone: 'zone-a', endpoints: zoned(), cluster: [A1, A2, B1] },
  { name: 'PreferSameZone: the zone-b endpoint from a zone-b node', distribution: 'PreferSameZone', node: 'node-c', zone: 'zone-b', endpoints: zoned(), cluster: [C1] },
  { name: 'PreferClose (deprecated alias): same as PreferSameZone', distribution: 'PreferClose', node: 'node-a', zone: 'zone-a', endpoints: zoned(), cluster: [A1, A2, B1] },
  { name: 'topology-mode: Auto annotation: the hints decide the same way', topologyMode: 'Auto', node: 'node-c', zone: 'zone-b', endpoints: zoned(), cluster: [C1] },
  { name: 'hints without trafficDistribution are still read (kube-proxy reads hints only)', node: 'node-a', zone: 'zone-a', endpoints: zoned(), cluster: [A1, A2, B1] },
  { name: 'PreferSameNode: this node\'s endpoints by hints.forNodes', distribution: 'PreferSameNode', node: 'node-a', zone: 'zone-a', endpoints: perNode(), cluster: [A1, A2] },
  { name: 'PreferSameNode on another node of the zone', distribution: 'PreferSameNode', node: 'node-b', zone: 'zone-a', endpoints: perNode(), cluster: [B1] },
  {
    name: 'PreferSameNode: no endpoint hinted for this node falls back to zone hints',
    distribution: 'PreferSameNode', node: 'node-d', zone: 'zone-a', endpoints: perNode(), cluster: [A1, A2, B1],
  },
  {
    name: 'PreferSameNode: one ready endpoint without a node hint falls back to zone hints',
    distribution: 'PreferSameNode', node: 'node-a', zone: 'zone-a', endpoints: perNode({ [C1]: { nodes: [] } }), cluster: [A1, A2, B1],
  },
  {
    name: 'PreferSameNode: this node\'s only hinted endpoints unready, so no node topology; zone hints apply',
    distribution: 'PreferSameNode', node: 'node-a', zone: 'zone-a',
    endpoints: perNode({ [A1]: { ready: false }, [A2]: { ready: false } }), cluster: [B1],
  },
  {
    name: 'PreferSameNode: missing node and zone hints on one endpoint: no topology at all',
    distribution: 'PreferSameNode', node: 'node-a', zone: 'zone-a', endpoints: perNode({ [C1]: { nodes: [], zones: [] } }), cluster: [A1, A2, B1, C1],
  },
  { name: 'partial zone hints (one endpoint without): every endpoint', distribution: 'PreferSameZone', node: 'node-a', zone: 'zone-a', endpoints: zoned({ [B1]: { zones: [] } }), cluster: [A1, A2, B1, C1] },
  { name: 'an unready endpoint without hints does not count', distribution: 'PreferSameZone', node: 'node-a', zone: 'zone-a', endpoints: zoned({ [B1]: { zones: [], ready: false } }), cluster: [A1, A2] },
  { name: 'node without a zone label: every endpoint', distribution: 'PreferSameZone', node: 'node-a', zone: '', endpoints: zoned(), cluster: [A1, A2, B1, C1] },
  { name: 'no endpoint hinted for this zone: every endpoint', distribution: 'PreferSameZone', node: 'node-x', zone: 'zone-z', endpoints: zoned(), cluster: [A1, A2, B1, C1] },
  {
    name: 'only unready endpoints in this zone: no filtering', distribution: 'PreferSameZone', node: 'node-c', zone: 'zone-b',
    endpoints: zoned({ [C1]: { ready: false } }), cluster: [A1, A2, B1],
  },
  {
    name: 'an endpoint hinted for several zones serves each', distribution: 'PreferSameZone', node: 'node-c', zone: 'zone-b',
    endpoints: zoned({ [A1]: { zones: ['zone-a', 'zone-b'] } }), cluster: [A1, C1],
  },
  {
    name: 'externalTrafficPolicy Local: topology narrows Cluster endpoints only, Local ones ignore it',
    distribution: 'PreferSameZone', externalLocal: true, node: 'node-c', zone: 'zone-b', endpoints: zoned(), cluster: [C1], local: [C1],
  },
  {
    name: 'externalTrafficPolicy Local, a node whose endpoints are hinted away: Local keeps them',
    distribution: 'PreferSameZone', externalLocal: true, node: 'node-a', zone: 'zone-b',
    endpoints: zoned({ [A1]: { zones: ['zone-b'] } }), cluster: [A1, C1], local: [A1, A2],
  },
];

function objects(c: Case): { service: V1Service; slice: V1EndpointSlice; node: V1Node } {
  const annotations = c.topologyMode === undefined ? undefined : { 'service.kubernetes.io/topology-mode': c.topologyMode };
  return {
    service: {
      metadata: { namespace: 'ns', name: 'web', ...(annotations ? { annotations } : {}) },
      spec: {
        type: c.externalLocal ? 'NodePort' : 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'],
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, ...(c.externalLocal ? { nodePort: 30080 } : {}) }],
        ...(c.externalLocal ? { externalTrafficPolicy: 'Local' } : {}),
        ...(c.distribution === undefined ? {} : { trafficDistribution: c.distribution }),
      },
    },
    slice: {
      metadata: { namespace: 'ns', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: c.endpoints.map((e) => ({
        addresses: [e.ip],
        nodeName: e.node,
        conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: false },
        hints: {
          ...(e.zones && e.zones.length > 0 ? { forZones: e.zones.map((name) => ({ name })) } : {}),
          ...(e.nodes && e.nodes.length > 0 ? { forNodes: e.nodes.map((name) => ({ name })) } : {}),
        },
      })),
    },
    node: { metadata: { name: c.node, labels: c.zone === '' ? {} : { 'topology.kubernetes.io/zone': c.zone } } },
  };
}

describe('trafficDistribution and topology hints, from API objects to the endpoints used', () => {
  it.each(CASES)('$name', (c) => {
    const invalid: string[] = [];
    const state = new ClusterState({ nodeName: c.node, families: ['IPv4'], requireNode: true, onInvalid: (e) => invalid.push(e.message) });
    const o = objects(c);
    state.upsert('Node', o.node);
    state.upsert('Service', o.service);
    state.upsert('EndpointSlice', o.slice);
    expect(invalid).toEqual([]);
    const snap = state.snapshot('IPv4', { full: true });
    const port = snap.services.get('ns/web:http');
    const endpoints = snap.endpoints.get('ns/web:http');
    if (!port || !endpoints) throw new Error('service port not in the snapshot');
    expect(port.trafficDistribution).toBe(c.distribution ?? '');
    const got = categorizeEndpoints(endpoints, port, snap.node);
    expect(got.clusterEndpoints.map((e) => e.ip).sort()).toEqual([...c.cluster].sort());
    if (c.local !== undefined) expect(got.localEndpoints.map((e) => e.ip).sort()).toEqual([...c.local].sort());
  });
});
