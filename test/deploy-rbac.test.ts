// Least privilege, proven by traffic: the real ApiSource runs against the test API server through
// starts, watch cuts, 410 relists and an outage; every request the server received must be in
// src/sources/api-requests.ts and granted by deploy/clusterrole.yaml, and the ClusterRole must grant
// nothing beyond that list. The IPVSDeprecation Event is posted through the real poster too.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALL_API_REQUESTS, API_REQUESTS, collectionPath } from '../src/sources/api-requests.ts';
import { createEventPoster } from '../src/sources/kube-event-poster.ts';
import { modeEntry } from '../src/backends/modes.ts';
import { announceMode } from '../src/sources/mode-announcement.ts';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { TestApiServer } from './support/api-server.ts';
import type { RecordedRequest } from './support/api-server.ts';
import { RecordingSink, eventually, recordingLogger } from './support/api-server-sink.ts';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface ClusterRole { kind: string; metadata: { name: string }; rules: PolicyRule[] }

const deployFile = (name: string): string => readFileSync(new URL(`../deploy/${name}`, import.meta.url), 'utf8');

/** `group/resource:verb`, one per permission, the unit both sides are compared in. */
const perm = (group: string, resource: string, verb: string): string => `${group}/${resource}:${verb}`;

function granted(role: ClusterRole): Set<string> {
  const out = new Set<string>();
  for (const r of role.rules) {
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs ?? []) out.add(perm(g, res, v));
  }
  return out;
}

function declared(): Set<string> {
  const out = new Set<string>();
  for (const req of ALL_API_REQUESTS) for (const v of req.verbs) out.add(perm(req.group, req.resource, v));
  return out;
}

/** The RBAC permission a request needs, as kube-apiserver's RequestInfoFactory derives it. */
function permissionOf(r: RecordedRequest): string {
  const parts = r.path.split('/').filter((p) => p !== '');
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [group, rest] = [parts[1] ?? '', parts.slice(3)];
  else return `nonResource:${r.path}:${r.method}`;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource = '', name] = rest;
  const watch = r.query.watch === 'true' || r.query.watch === '1';
  const verbs: Record<string, string> = {
    GET: watch ? 'watch' : name === undefined ? 'list' : 'get',
    POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name === undefined ? 'deletecollection' : 'delete',
  };
  return perm(group, resource, verbs[r.method] ?? r.method.toLowerCase());
}

let server: TestApiServer | undefined;
let source: ApiSource | undefined;
afterEach(async () => {
  await source?.stop();
  await server?.stop();
  source = undefined;
  server = undefined;
});

describe('the ClusterRole against the requests the daemon makes', () => {
  const role = parse(deployFile('clusterrole.yaml')) as ClusterRole;

  it('grants exactly the requests listed in api-requests.ts, with no wildcards or non-resource URLs', () => {
    expect(role.kind).toBe('ClusterRole');
    expect([...granted(role)].sort()).toEqual([...declared()].sort());
    for (const r of role.rules) {
      expect(r.nonResourceURLs, 'nonResourceURLs').toBeUndefined();
      expect([...(r.apiGroups ?? []), ...(r.resources ?? []), ...(r.verbs ?? [])]).not.toContain('*');
    }
  });

  it('api-requests.ts paths are the ones the informers use', () => {
    expect(Object.fromEntries(Object.entries(API_REQUESTS).map(([k, r]) => [k, collectionPath(r)]))).toEqual({
      Service: '/api/v1/services',
      EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
      Node: '/api/v1/nodes',
      ServiceCIDR: '/apis/networking.k8s.io/v1/servicecidrs',
    });
  });

  it('every request the real ApiSource sends (start, watch cuts, 410 relist, outage) is listed and granted, and every listed one is used', async () => {
    const srv = new TestApiServer({ bookmarkIntervalMs: 100 });
    server = srv;
    await srv.start();
    srv.create('Node', { metadata: { name: 'node-a' } });
    srv.create('ServiceCIDR', { metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16', 'fd00:10:96::/112'] } });
    srv.create('Service', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] } });
    srv.create('EndpointSlice', {
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.1'], conditions: { ready: true } }], ports: [{ port: 8080, protocol: 'TCP' }],
    });
    const sink = new RecordingSink();
    const timing = { backoffInitialMs: 50, backoffMaxMs: 200, stallTimeoutMs: 60_000, watchTimeoutSeconds: 300, relistPeriodMs: 0 };
    source = new ApiSource({ client: createKubeClient(loadKubeConfig({ master: srv.url })), nodeName: 'node-a', log: recordingLogger(), timing });
    await source.start(sink);
    const allWatching = (): void => {
      expect([...sink.synced_].sort()).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']);
      expect(srv.watchCount).toBe(4);
    };
    await eventually(allWatching, 10_000);

    srv.closeWatches();
    srv.create('Service', { metadata: { name: 'two', namespace: 'default' }, spec: { clusterIP: '10.96.0.11' } });
    await eventually(() => expect(sink.state.Service.has('default/two')).toBe(true), 10_000);
    srv.compactHistory();
    await eventually(allWatching, 10_000);
    await srv.stop();
    // Back without streaming lists (WatchList): the informers fall back to paginated lists, so both
    // ways of listing are checked against the role.
    srv.setWatchList(false);
    await new Promise((r) => setTimeout(r, 150));
    await srv.start();
    srv.create('Service', { metadata: { name: 'three', namespace: 'default' }, spec: { clusterIP: '10.96.0.12' } });
    await eventually(() => {
      allWatching();
      expect(sink.state.Service.has('default/three')).toBe(true);
    }, 10_000);

    // In ipvs mode the daemon also records the IPVSDeprecation Event on its Node (the only Event).
    const logger = recordingLogger();
    await announceMode({ mode: 'ipvs', deprecation: modeEntry('ipvs').deprecation, nodeName: 'node-a', hostname: 'node-a', logger, events: createEventPoster(loadKubeConfig({ master: srv.url })) });
    expect(srv.events.map((e) => e.body['reason'])).toEqual(['IPVSDeprecation']);

    const used = new Set(srv.requests.map(permissionOf));
    const grants = granted(role);
    const listed = declared();
    for (const p of used) {
      expect(listed.has(p), `${p} is not in src/sources/api-requests.ts`).toBe(true);
      expect(grants.has(p), `${p} is not granted by deploy/clusterrole.yaml`).toBe(true);
    }
    expect([...used].sort(), 'api-requests.ts lists a request the daemon never makes').toEqual([...listed].sort());
    expect(srv.counters.watchLists, 'streaming lists were used before the fallback').toBeGreaterThan(0);
    // The selectors the list relies on were sent (a role cannot narrow them; the request must).
    for (const [kind, req] of Object.entries(API_REQUESTS)) {
      const sent = srv.requests.filter((r) => r.path === collectionPath(req));
      expect(sent.length, kind).toBeGreaterThan(0);
      if (req.selector === 'none') continue;
      const key = req.selector === 'label' ? 'labelSelector' : 'fieldSelector';
      for (const r of sent) expect(r.query[key], `${kind} ${key}`).toBeTruthy();
    }
  });
});

describe('the ServiceAccount binding', () => {
  it('binds the ClusterRole to the ServiceAccount the DaemonSet runs as', () => {
    const role = parse(deployFile('clusterrole.yaml')) as ClusterRole;
    const sa = parse(deployFile('serviceaccount.yaml')) as { kind: string; metadata: { name: string; namespace: string } };
    const binding = parse(deployFile('clusterrolebinding.yaml')) as {
      kind: string; roleRef: { apiGroup: string; kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(sa.kind).toBe('ServiceAccount');
    expect(binding.kind).toBe('ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });
});
