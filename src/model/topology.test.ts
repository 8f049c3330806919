// Cases ported from upstream pkg/proxy/topology_test.go TestCategorizeEndpoints (hints-based
// version), plus PreferSameNode cases. `null` means "the port does not use this kind of endpoints"
// (upstream nil), `[]` means "uses them but has none".
import { describe, expect, it } from 'vitest';
import { endpointString } from './endpoint.ts';
import { categorizeEndpoints, usesClusterEndpoints, usesLocalEndpoints } from './topology.ts';
import type { Endpoint } from './types.ts';

interface Svc {
  nodePort?: number;
  externalPolicyLocal?: boolean;
  internalPolicyLocal?: boolean;
}

function svc(s: Svc) {
  return {
    nodePort: s.nodePort ?? 0,
    externalIPs: [],
    loadBalancerVIPs: [],
    externalPolicyLocal: s.externalPolicyLocal ?? false,
    internalPolicyLocal: s.internalPolicyLocal ?? false,
  };
}

interface EpOpts {
  zoneHints?: string[];
  nodeHints?: string[];
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  isLocal?: boolean;
}

function ep(addr: string, o: EpOpts = {}): Endpoint {
  const [ip = '', port = '0'] = addr.split(':');
  return {
    ip,
    port: Number(port),
    ready: o.ready ?? false,
    serving: o.serving ?? false,
    terminating: o.terminating ?? false,
    isLocal: o.isLocal ?? false,
    nodeName: '',
    zone: '',
    zoneHints: o.zoneHints,
    nodeHints: o.nodeHints,
  };
}

interface Case {
  name: string;
  zone?: string;
  nodeName?: string;
  svc: Svc;
  endpoints: Endpoint[];
  cluster: string[] | null;
  local: string[] | null;
  all?: string[];
  onlyRemote?: boolean;
}

const R = { ready: true };
const cases: Case[] = [
  {
    name: 'uses topology: all endpoints hinted, node zone labelled, endpoints for the zone',
    zone: 'zone-a',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.4:80', { zoneHints: ['zone-b'], ...R }),
      ep('10.1.2.5:80', { zoneHints: ['zone-c'], ...R }),
      ep('10.1.2.6:80', { zoneHints: ['zone-a'], ...R }),
    ],
    cluster: ['10.1.2.3:80', '10.1.2.6:80'],
    local: null,
  },
  {
    name: 'externalTrafficPolicy: Local, topology ignored for Local endpoints',
    zone: 'zone-a',
    svc: { externalPolicyLocal: true, nodePort: 8080 },
    endpoints: [
      ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R, isLocal: true }),
      ep('10.1.2.4:80', { zoneHints: ['zone-b'], ...R, isLocal: true }),
      ep('10.1.2.5:80', { zoneHints: ['zone-c'], ...R }),
      ep('10.1.2.6:80', { zoneHints: ['zone-a'], ...R }),
    ],
    cluster: ['10.1.2.3:80', '10.1.2.6:80'],
    local: ['10.1.2.3:80', '10.1.2.4:80'],
    all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
  },
  {
    name: 'internalTrafficPolicy: Local, topology ignored for Local endpoints',
    zone: 'zone-a',
    svc: { internalPolicyLocal: true, nodePort: 8080 },
    endpoints: [
      ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R, isLocal: true }),
      ep('10.1.2.4:80', { zoneHints: ['zone-b'], ...R, isLocal: true }),
      ep('10.1.2.5:80', { zoneHints: ['zone-c'], ...R }),
      ep('10.1.2.6:80', { zoneHints: ['zone-a'], ...R }),
    ],
    cluster: ['10.1.2.3:80', '10.1.2.6:80'],
    local: ['10.1.2.3:80', '10.1.2.4:80'],
    all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
  },
  { name: 'empty node labels', svc: {}, endpoints: [ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R })], cluster: ['10.1.2.3:80'], local: null },
  { name: 'empty zone label', zone: '', svc: {}, endpoints: [ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R })], cluster: ['10.1.2.3:80'], local: null },
  {
    name: 'node in different zone, no endpoint filtering',
    zone: 'zone-b',
    svc: {},
    endpoints: [ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R })],
    cluster: ['10.1.2.3:80'],
    local: null,
  },
  {
    name: 'unready endpoint',
    zone: 'zone-a',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.4:80', { zoneHints: ['zone-b'], ...R }),
      ep('10.1.2.5:80', { zoneHints: ['zone-c'], ...R }),
      ep('10.1.2.6:80', { zoneHints: ['zone-a'] }),
    ],
    cluster: ['10.1.2.3:80'],
    local: null,
  },
  {
    name: 'only unready endpoints in same zone (should not filter)',
    zone: 'zone-a',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { zoneHints: ['zone-a'] }),
      ep('10.1.2.4:80', { zoneHints: ['zone-b'], ...R }),
      ep('10.1.2.5:80', { zoneHints: ['zone-c'], ...R }),
      ep('10.1.2.6:80', { zoneHints: ['zone-a'] }),
    ],
    cluster: ['10.1.2.4:80', '10.1.2.5:80'],
    local: null,
  },
  {
    name: 'missing hints, no filtering applied',
    zone: 'zone-a',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.4:80', { zoneHints: ['zone-b'], ...R }),
      ep('10.1.2.5:80', R),
      ep('10.1.2.6:80', { zoneHints: ['zone-a'], ...R }),
    ],
    cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.5:80', '10.1.2.6:80'],
    local: null,
  },
  {
    name: 'multiple hints per endpoint, filtering includes any endpoint with zone included',
    zone: 'zone-c',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { zoneHints: ['zone-a', 'zone-b', 'zone-c'], ...R }),
      ep('10.1.2.4:80', { zoneHints: ['zone-b', 'zone-c'], ...R }),
      ep('10.1.2.5:80', { zoneHints: ['zone-b', 'zone-d'], ...R }),
      ep('10.1.2.6:80', { zoneHints: ['zone-c'], ...R }),
    ],
    cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    local: null,
  },
  {
    name: 'conflicting topology and localness require merging allEndpoints',
    zone: 'zone-a',
    svc: { externalPolicyLocal: true, nodePort: 8080 },
    endpoints: [
      ep('10.0.0.0:80', { zoneHints: ['zone-a'], ...R, isLocal: true }),
      ep('10.0.0.1:80', { zoneHints: ['zone-b'], ...R, isLocal: true }),
      ep('10.0.0.2:80', { zoneHints: ['zone-a'], ...R }),
      ep('10.0.0.3:80', { zoneHints: ['zone-b'], ...R }),
    ],
    cluster: ['10.0.0.0:80', '10.0.0.2:80'],
    local: ['10.0.0.0:80', '10.0.0.1:80'],
    all: ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80'],
  },
  { name: 'internalTrafficPolicy: Local, with empty endpoints', svc: { internalPolicyLocal: true }, endpoints: [], cluster: null, local: [] },
  {
    name: 'internalTrafficPolicy: Local, but all endpoints are remote',
    svc: { internalPolicyLocal: true },
    endpoints: [ep('10.0.0.0:80', R), ep('10.0.0.1:80', R)],
    cluster: null,
    local: [],
    onlyRemote: true,
  },
  {
    name: 'internalTrafficPolicy: Local, all endpoints are local',
    svc: { internalPolicyLocal: true },
    endpoints: [ep('10.0.0.0:80', { ...R, isLocal: true }), ep('10.0.0.1:80', { ...R, isLocal: true })],
    cluster: null,
    local: ['10.0.0.0:80', '10.0.0.1:80'],
  },
  {
    name: 'internalTrafficPolicy: Local, some endpoints are local',
    svc: { internalPolicyLocal: true },
    endpoints: [ep('10.0.0.0:80', { ...R, isLocal: true }), ep('10.0.0.1:80', R)],
    cluster: null,
    local: ['10.0.0.0:80'],
  },
  { name: 'Cluster traffic policy, endpoints not Ready', svc: {}, endpoints: [ep('10.0.0.0:80'), ep('10.0.0.1:80')], cluster: [], local: null },
  { name: 'Cluster traffic policy, some endpoints are Ready', svc: {}, endpoints: [ep('10.0.0.0:80'), ep('10.0.0.1:80', R)], cluster: ['10.0.0.1:80'], local: null },
  {
    name: 'Cluster traffic policy, all endpoints are terminating',
    svc: {},
    endpoints: [
      ep('10.0.0.0:80', { serving: true, terminating: true, isLocal: true }),
      ep('10.0.0.1:80', { serving: true, terminating: true }),
    ],
    cluster: ['10.0.0.0:80', '10.0.0.1:80'],
    local: null,
  },
  {
    name: 'iTP: Local, eTP: Cluster, some endpoints local',
    svc: { internalPolicyLocal: true, nodePort: 8080 },
    endpoints: [ep('10.0.0.0:80', { ...R, isLocal: true }), ep('10.0.0.1:80', R)],
    cluster: ['10.0.0.0:80', '10.0.0.1:80'],
    local: ['10.0.0.0:80'],
    all: ['10.0.0.0:80', '10.0.0.1:80'],
  },
  {
    name: 'iTP: Cluster, eTP: Local, some endpoints local',
    svc: { externalPolicyLocal: true, nodePort: 8080 },
    endpoints: [ep('10.0.0.0:80', { ...R, isLocal: true }), ep('10.0.0.1:80', R)],
    cluster: ['10.0.0.0:80', '10.0.0.1:80'],
    local: ['10.0.0.0:80'],
    all: ['10.0.0.0:80', '10.0.0.1:80'],
  },
  {
    name: 'iTP: Local, eTP: Local, some endpoints local',
    svc: { internalPolicyLocal: true, externalPolicyLocal: true, nodePort: 8080 },
    endpoints: [ep('10.0.0.0:80', { ...R, isLocal: true }), ep('10.0.0.1:80', R)],
    cluster: ['10.0.0.0:80', '10.0.0.1:80'],
    local: ['10.0.0.0:80'],
    all: ['10.0.0.0:80', '10.0.0.1:80'],
  },
  {
    name: 'iTP: Local, eTP: Local, all endpoints remote',
    svc: { internalPolicyLocal: true, externalPolicyLocal: true, nodePort: 8080 },
    endpoints: [ep('10.0.0.0:80', R), ep('10.0.0.1:80', R)],
    cluster: ['10.0.0.0:80', '10.0.0.1:80'],
    local: [],
    all: ['10.0.0.0:80', '10.0.0.1:80'],
  },
  {
    name: 'iTP: Local, eTP: Local, all endpoints remote and terminating',
    svc: { internalPolicyLocal: true, externalPolicyLocal: true, nodePort: 8080 },
    endpoints: [ep('10.0.0.0:80', { serving: true, terminating: true }), ep('10.0.0.1:80', { serving: true, terminating: true })],
    cluster: ['10.0.0.0:80', '10.0.0.1:80'],
    local: [],
    all: ['10.0.0.0:80', '10.0.0.1:80'],
    onlyRemote: true,
  },
  {
    name: 'iTP: Cluster, eTP: Local, with terminating endpoints',
    svc: { externalPolicyLocal: true, nodePort: 8080 },
    endpoints: [
      ep('10.0.0.0:80', R),
      ep('10.0.0.1:80', { isLocal: true }),
      ep('10.0.0.2:80', { serving: true, terminating: true, isLocal: true }),
      ep('10.0.0.3:80', { serving: true, terminating: true }),
    ],
    cluster: ['10.0.0.0:80'],
    local: ['10.0.0.2:80'],
    all: ['10.0.0.0:80', '10.0.0.2:80'],
  },
  {
    name: 'externalTrafficPolicy ignored if not externally accessible',
    svc: { externalPolicyLocal: true },
    endpoints: [ep('10.0.0.0:80', R), ep('10.0.0.1:80', { ...R, isLocal: true })],
    cluster: ['10.0.0.0:80', '10.0.0.1:80'],
    local: null,
    all: ['10.0.0.0:80', '10.0.0.1:80'],
  },
  {
    name: 'no cluster endpoints for iTP:Local internal-only service',
    svc: { internalPolicyLocal: true },
    endpoints: [ep('10.0.0.0:80', R), ep('10.0.0.1:80', { ...R, isLocal: true })],
    cluster: null,
    local: ['10.0.0.1:80'],
    all: ['10.0.0.1:80'],
  },
  // PreferSameNode (upstream's node-hint cases).
  {
    name: 'PreferSameNode: every endpoint has a node hint and one names this node',
    zone: 'zone-a',
    nodeName: 'node-1',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { nodeHints: ['node-1'], zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.4:80', { nodeHints: ['node-2'], zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.5:80', { nodeHints: ['node-3'], zoneHints: ['zone-b'], ...R }),
    ],
    cluster: ['10.1.2.3:80'],
    local: null,
  },
  {
    name: 'PreferSameNode: no endpoint for this node falls back to zone hints',
    zone: 'zone-a',
    nodeName: 'node-9',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { nodeHints: ['node-1'], zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.4:80', { nodeHints: ['node-2'], zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.5:80', { nodeHints: ['node-3'], zoneHints: ['zone-b'], ...R }),
    ],
    cluster: ['10.1.2.3:80', '10.1.2.4:80'],
    local: null,
  },
  {
    name: 'PreferSameNode: one endpoint without node hint falls back to zone hints',
    zone: 'zone-b',
    nodeName: 'node-1',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { nodeHints: ['node-1'], zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.4:80', { zoneHints: ['zone-a'], ...R }),
      ep('10.1.2.5:80', { nodeHints: ['node-3'], zoneHints: ['zone-b'], ...R }),
    ],
    cluster: ['10.1.2.5:80'],
    local: null,
  },
  {
    name: 'PreferSameNode: unready hinted endpoint for this node does not count',
    zone: 'zone-z',
    nodeName: 'node-1',
    svc: {},
    endpoints: [
      ep('10.1.2.3:80', { nodeHints: ['node-1'] }),
      ep('10.1.2.4:80', { nodeHints: ['node-2'], ...R }),
    ],
    cluster: ['10.1.2.4:80'],
    local: null,
  },
];

describe('categorizeEndpoints (upstream TestCategorizeEndpoints)', () => {
  it.each(cases)('$name', (tc) => {
    const port = svc(tc.svc);
    const got = categorizeEndpoints(tc.endpoints, port, { name: tc.nodeName ?? 'node-x', zone: tc.zone ?? '' });
    const names = (eps: readonly Endpoint[]) => eps.map(endpointString).sort();

    expect(usesClusterEndpoints(port)).toBe(tc.cluster !== null);
    expect(usesLocalEndpoints(port)).toBe(tc.local !== null);
    expect(names(got.clusterEndpoints)).toEqual([...(tc.cluster ?? [])].sort());
    expect(names(got.localEndpoints)).toEqual([...(tc.local ?? [])].sort());

    const all = tc.cluster !== null && tc.local === null ? tc.cluster : tc.local !== null && tc.cluster === null ? tc.local : (tc.all ?? []);
    expect(names(got.allReachableEndpoints)).toEqual([...all].sort());
    expect(got.hasAnyEndpoints).toBe(all.length > 0 || tc.onlyRemote === true);
  });

  it('keeps input order in a merged allReachableEndpoints', () => {
    const eps = [
      ep('10.0.0.1:80', { zoneHints: ['zone-b'], ...R, isLocal: true }),
      ep('10.0.0.2:80', { zoneHints: ['zone-a'], ...R }),
      ep('10.0.0.3:80', { zoneHints: ['zone-a'], ...R, isLocal: true }),
    ];
    const got = categorizeEndpoints(eps, svc({ externalPolicyLocal: true, nodePort: 30000 }), { name: 'n', zone: 'zone-a' });
    expect(got.allReachableEndpoints.map(endpointString)).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  });
});
