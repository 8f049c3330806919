import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ObjectError } from '../errors.ts';
import { ClusterState, type ClusterStateOptions } from './cluster-state.ts';
import type { IPFamily } from './types.ts';

function service(name: string, ip: string, opts: { rv?: string; port?: number; ips?: string[]; protocol?: string } = {}): V1Service {
  return {
    metadata: { namespace: 'ns', name, resourceVersion: opts.rv },
    spec: { clusterIP: ip, clusterIPs: opts.ips, ports: [{ name: 'p', port: opts.port ?? 80, protocol: opts.protocol ?? 'TCP' }] },
  };
}

interface EpSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

function slice(name: string, svc: string, eps: (string | EpSpec)[], opts: { rv?: string; family?: IPFamily; port?: number; trigger?: string } = {}): V1EndpointSlice {
  return {
    metadata: {
      namespace: 'ns',
      name,
      resourceVersion: opts.rv,
      labels: { 'kubernetes.io/service-name': svc },
      annotations: opts.trigger ? { 'endpoints.kubernetes.io/last-change-trigger-time': opts.trigger } : undefined,
    },
    addressType: opts.family ?? 'IPv4',
    ports: [{ name: 'p', port: opts.port ?? 8080, protocol: 'TCP' }],
    endpoints: eps.map((e) => {
      const s = typeof e === 'string' ? { ip: e } : e;
      return { addresses: [s.ip], nodeName: s.node, conditions: { ready: s.ready, serving: s.serving, terminating: s.terminating } };
    }),
  };
}

function setup(extra: Partial<ClusterStateOptions> = {}) {
  const errors: ObjectError[] = [];
  let fired = 0;
  let clock = 1000;
  const state = new ClusterState({ nodeName: 'n1', families: ['IPv4', 'IPv6'], requireNode: true, onInvalid: (e) => errors.push(e), now: () => clock, ...extra });
  state.onChange(() => fired++);
  return {
    state,
    errors,
    fired: () => fired,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

const ips = (s: ClusterState, spn = 'ns/a:p', family: IPFamily = 'IPv4') => s.snapshot(family).endpoints.get(spn)?.map((e) => e.ip) ?? [];

describe('ClusterState basics', () => {
  it('parses services and endpoints into a snapshot, marking everything changed and full at first', () => {
    const { state } = setup();
    state.upsert('Service', service('a', '10.96.0.1'));
    state.upsert('EndpointSlice', slice('a-1', 'a', [{ ip: '10.244.0.2', node: 'n1' }, '10.244.0.1']));
    const snap = state.snapshot('IPv4');
    expect([...snap.services.keys()]).toEqual(['ns/a:p']);
    expect(snap.endpoints.get('ns/a:p')?.map((e) => [e.ip, e.port, e.isLocal])).toEqual([
      ['10.244.0.1', 8080, false],
      ['10.244.0.2', 8080, true],
    ]);
    expect([...snap.changedServices]).toEqual(['ns/a:p']);
    expect([...snap.changedEndpoints]).toEqual(['ns/a:p']);
    expect(snap.full).toBe(true);
    expect(snap.node).toEqual({ name: 'n1', labels: {}, zone: '', podCIDRs: [], eligible: true });
    state.commit(snap);
    const next = state.snapshot('IPv4');
    expect(next.full).toBe(false);
    expect(next.changedServices.size + next.changedEndpoints.size).toBe(0);
    expect(state.snapshot('IPv4', { full: true }).full).toBe(true);
  });

  it('splits dual-stack Services and slices by family', () => {
    const { state } = setup();
    state.upsert('Service', service('a', '10.96.0.1', { ips: ['10.96.0.1', 'fd00::1'] }));
    state.upsert('EndpointSlice', slice('a-v4', 'a', ['10.244.0.1']));
    state.upsert('EndpointSlice', slice('a-v6', 'a', ['fd00:244::1'], { family: 'IPv6' }));
    expect(state.snapshot('IPv4').services.get('ns/a:p')?.clusterIP).toBe('10.96.0.1');
    expect(state.snapshot('IPv6').services.get('ns/a:p')?.clusterIP).toBe('fd00::1');
    expect(ips(state)).toEqual(['10.244.0.1']);
    expect(ips(state, 'ns/a:p', 'IPv6')).toEqual(['fd00:244::1']);
  });

  it('merges slices of one service and deduplicates an IP, preferring the non-terminating copy', () => {
    const { state } = setup();
    state.upsert('EndpointSlice', slice('a-1', 'a', [{ ip: '10.0.0.1', ready: false, serving: true, terminating: true }, '10.0.0.2']));
    state.upsert('EndpointSlice', slice('a-2', 'a', ['10.0.0.1', '10.0.0.3']));
    const eps = state.snapshot('IPv4').endpoints.get('ns/a:p') ?? [];
    expect(eps.map((e) => [e.ip, e.terminating])).toEqual([
      ['10.0.0.1', false],
      ['10.0.0.2', false],
      ['10.0.0.3', false],
    ]);
  });
});

describe('ClusterState change tracking', () => {
  it('commit clears exactly what the snapshot contained', () => {
    const { state } = setup();
    state.upsert('Service', service('a', '10.96.0.1'));
    const s1 = state.snapshot('IPv4');
    state.upsert('Service', service('b', '10.96.0.2')); // arrives while s1 is being synced
    state.upsert('Service', service('a', '10.96.0.1', { port: 81 })); // a changes again
    state.commit(s1);
    const s2 = state.snapshot('IPv4');
    expect([...s2.changedServices].sort()).toEqual(['ns/a:p', 'ns/b:p']);
    state.commit(s2);
    expect(state.snapshot('IPv4').changedServices.size).toBe(0);
  });

  it('a failed sync (no commit) keeps its changes for the next snapshot', () => {
    const { state } = setup();
    state.upsert('Service', service('a', '10.96.0.1'));
    state.commit(state.snapshot('IPv4'));
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1']));
    state.snapshot('IPv4'); // sync fails: not committed
    state.upsert('Service', service('b', '10.96.0.2'));
    const s = state.snapshot('IPv4');
    expect([...s.changedEndpoints]).toEqual(['ns/a:p']);
    expect([...s.changedServices]).toEqual(['ns/b:p']);
  });

  it('families are committed independently', () => {
    const { state } = setup();
    state.upsert('Service', service('a', '10.96.0.1', { ips: ['10.96.0.1', 'fd00::1'] }));
    state.commit(state.snapshot('IPv4'));
    expect(state.snapshot('IPv4').changedServices.size).toBe(0);
    expect([...state.snapshot('IPv6').changedServices]).toEqual(['ns/a:p']);
  });

  it.each<[string, (s: ClusterState) => void]>([
    ['same resourceVersion', (s) => s.upsert('Service', service('a', '10.96.0.1', { rv: '1' }))],
    ['new resourceVersion, same content', (s) => s.upsert('Service', service('a', '10.96.0.1', { rv: '2' }))],
    ['slice with a new resourceVersion, same content', (s) => s.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1'], { rv: '9' }))],
    ['slice changes only its trigger time', (s) => s.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1'], { rv: '9', trigger: '2024-01-01T00:00:00Z' }))],
    ['removing an unknown Service', (s) => s.remove('Service', 'ns/zzz')],
    ['a Node that is not ours', (s) => s.upsert('Node', { metadata: { name: 'other', labels: { a: 'b' } } })],
    ['a replace with the same objects', (s) => s.replace('Service', [service('a', '10.96.0.1', { rv: '1' })])],
  ])('no-op update does not fire or count: %s', (_n, act) => {
    const { state, fired } = setup();
    state.upsert('Service', service('a', '10.96.0.1', { rv: '1' }));
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1'], { rv: '1' }));
    state.commit(state.snapshot('IPv4'));
    state.commit(state.snapshot('IPv6'));
    const before = fired();
    act(state);
    expect(fired()).toBe(before);
    expect(state.pendingServiceChanges + state.pendingEndpointChanges).toBe(0);
    const snap = state.snapshot('IPv4');
    expect(snap.changedServices.size + snap.changedEndpoints.size).toBe(0);
  });

  it('fires once per effective change and counts pending changes by Service', () => {
    const { state, fired } = setup();
    state.upsert('Service', service('a', '10.96.0.1'));
    state.upsert('Service', service('b', '10.96.0.2'));
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1']));
    expect(fired()).toBe(3);
    expect(state.pendingServiceChanges).toBe(2);
    expect(state.pendingEndpointChanges).toBe(1);
    expect(state.serviceChangesTotal).toBe(2);
    expect(state.endpointChangesTotal).toBe(1);
  });

  it('reports removed endpoints (were serving, now gone or not serving) and removed services', () => {
    const { state } = setup();
    state.upsert('Service', service('a', '10.96.0.1', { protocol: 'UDP' }));
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1', '10.0.0.2', '10.0.0.3', { ip: '10.0.0.4', ready: false }]));
    state.commit(state.snapshot('IPv4'));
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1', { ip: '10.0.0.3', ready: false }]));
    const s = state.snapshot('IPv4');
    expect(s.removedEndpoints.get('ns/a:p')?.map((e) => e.ip)).toEqual(['10.0.0.2', '10.0.0.3']);
    state.commit(s);
    state.remove('Service', 'ns/a');
    state.remove('EndpointSlice', 'ns/a-1');
    const s2 = state.snapshot('IPv4');
    expect([...(s2.removedServices?.keys() ?? [])]).toEqual(['ns/a:p']);
    expect(s2.removedServices?.get('ns/a:p')?.protocol).toBe('UDP');
    expect(s2.removedEndpoints.get('ns/a:p')?.map((e) => e.ip)).toEqual(['10.0.0.1']);
    expect(s2.services.size + s2.endpoints.size).toBe(0);
  });

  it('tracks the oldest unsynced change and trigger times', () => {
    const { state, tick } = setup();
    expect(state.oldestPendingChange()).toBeUndefined();
    state.upsert('Service', service('a', '10.96.0.1', { ips: ['10.96.0.1', 'fd00::1'] }));
    tick(500);
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1'], { trigger: '2024-01-01T00:00:00Z' }));
    expect(state.oldestPendingChange()).toBe(1000);
    const s = state.snapshot('IPv4');
    expect(s.changeTimes).toContain(Date.parse('2024-01-01T00:00:00Z'));
    expect(s.changeTimes).toContain(1000);
    state.commit(s);
    expect(state.oldestPendingChange('IPv4')).toBeUndefined();
    expect(state.oldestPendingChange()).toBe(1000); // the IPv6 side is not synced yet
    expect(state.oldestPendingChange('IPv6')).toBe(1000);
  });

  it('reuses the same maps for snapshots when nothing changed', () => {
    const { state } = setup();
    state.upsert('Service', service('a', '10.96.0.1'));
    const s1 = state.snapshot('IPv4');
    const s2 = state.snapshot('IPv4');
    expect(s2.services).toBe(s1.services);
    state.upsert('Service', service('b', '10.96.0.2'));
    const s3 = state.snapshot('IPv4');
    expect(s3.services).not.toBe(s1.services);
    expect(s1.services.size).toBe(1); // an earlier snapshot is not mutated
  });
});

describe('ClusterState relist, node and sync state', () => {
  it('replace deletes objects that vanished while the watch was down', () => {
    const { state, fired } = setup();
    state.upsert('Service', service('a', '10.96.0.1', { rv: '1' }));
    state.upsert('Service', service('b', '10.96.0.2', { rv: '1' }));
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1'], { rv: '1' }));
    state.upsert('EndpointSlice', slice('b-1', 'b', ['10.0.0.2'], { rv: '1' }));
    const before = fired();
    state.replace('Service', [service('b', '10.96.0.2', { rv: '1' }), service('c', '10.96.0.3', { rv: '1' })]);
    state.replace('EndpointSlice', [slice('b-1', 'b', ['10.0.0.2'], { rv: '1' })]);
    expect(fired()).toBe(before + 2);
    const snap = state.snapshot('IPv4');
    expect([...snap.services.keys()].sort()).toEqual(['ns/b:p', 'ns/c:p']);
    expect([...snap.endpoints.keys()]).toEqual(['ns/b:p']);
    expect(state.keys('Service').sort()).toEqual(['ns/b', 'ns/c']);
  });

  it('keeps only its own Node; a topology change forces a full snapshot', () => {
    const { state } = setup();
    const node: V1Node = { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } };
    state.replace('Node', [node, { metadata: { name: 'n2' } }]);
    expect(state.node.zone).toBe('z1');
    state.commit(state.snapshot('IPv4'));
    expect(state.snapshot('IPv4').full).toBe(false);
    state.upsert('Node', { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z2' } } });
    const s = state.snapshot('IPv4');
    expect(s.full).toBe(true);
    expect(s.node.zone).toBe('z2');
    state.commit(s);
    expect(state.snapshot('IPv4').full).toBe(false);
    state.remove('Node', 'n1');
    expect(state.node).toEqual({ name: 'n1', labels: {}, zone: '', podCIDRs: [], eligible: true });
  });

  it.each<[string, boolean, ('Service' | 'EndpointSlice' | 'Node')[], boolean]>([
    ['nothing synced', true, [], false],
    ['services and slices, node required', true, ['Service', 'EndpointSlice'], false],
    ['all three', true, ['Service', 'EndpointSlice', 'Node'], true],
    ['services and slices, node not required', false, ['Service', 'EndpointSlice'], true],
  ])('isSynced: %s', (_n, requireNode, kinds, want) => {
    const { state } = setup({ requireNode });
    for (const k of kinds) state.synced(k);
    expect(state.isSynced()).toBe(want);
  });
});

describe('ClusterState invalid objects', () => {
  it('reports bad objects one by one and keeps everything else', () => {
    const { state, errors } = setup();
    state.upsert('Service', service('good', '10.96.0.1'));
    state.upsert('Service', service('bad', '10.96.0.999'));
    state.upsert('Service', { metadata: { namespace: 'ns', name: 'mixed' }, spec: { clusterIP: '10.96.0.3', ports: [{ name: 'x', port: 0 }, { name: 'p', port: 80 }] } });
    state.upsert('EndpointSlice', slice('good-1', 'good', ['10.0.0.1', 'bogus', 'fd00::1', '10.0.0.2']));
    state.upsert('EndpointSlice', { metadata: { namespace: 'ns', name: 'orphan' }, addressType: 'IPv4', endpoints: [] });
    const snap = state.snapshot('IPv4');
    expect([...snap.services.keys()].sort()).toEqual(['ns/good:p', 'ns/mixed:p']);
    expect(snap.endpoints.get('ns/good:p')?.map((e) => e.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(errors.map((e) => e.message)).toEqual([
      'Service ns/bad: spec.clusterIPs: invalid IP "10.96.0.999"',
      'Service ns/mixed: spec.ports[0] (x): invalid port 0',
      'EndpointSlice ns/good-1: endpoints[1]: invalid IP "bogus"',
      'EndpointSlice ns/good-1: endpoints[2]: IPv6 address fd00::1 in an IPv4 slice',
      'EndpointSlice ns/orphan: label kubernetes.io/service-name is missing',
    ]);
  });

  it('a slice that becomes invalid stops contributing its old endpoints', () => {
    const { state } = setup();
    state.upsert('EndpointSlice', slice('a-1', 'a', ['10.0.0.1']));
    expect(ips(state)).toEqual(['10.0.0.1']);
    const broken = slice('a-1', 'a', ['10.0.0.1']);
    broken.addressType = 'Bogus';
    state.upsert('EndpointSlice', broken);
    expect(ips(state)).toEqual([]);
  });
});
