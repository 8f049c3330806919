// client-node, supervised, talking HTTP to the test API server: every way the server breaks must
// end with the sink holding exactly the server's state.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import type { ObjectKind } from '../src/sources/types.ts';
import { startSourceForNodeIPs } from '../src/wiring/node-ip-tracker.ts';
import { recordingLogger as syncLogger } from '../src/sync/testing/recorders.ts';
import { TestApiServer } from './support/api-server.ts';
import type { ApiServerOptions, KubeObject } from './support/api-server.ts';
import { RecordingSink, eventually, recordingLogger, versionsOf } from './support/api-server-sink.ts';

const svc = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  metadata: { name, namespace: 'default', labels },
  spec: { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] },
});
const slice = (name: string, ip: string): KubeObject => ({
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': name.split('-')[0] ?? name } },
  addressType: 'IPv4',
  endpoints: [{ addresses: [ip], conditions: { ready: true } }],
  ports: [{ port: 8080, protocol: 'TCP' }],
});

let server: TestApiServer;
let source: ApiSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await server.stop();
});

const log = recordingLogger();
const fast = { backoffInitialMs: 50, backoffMaxMs: 400, stallTimeoutMs: 60_000, watchTimeoutSeconds: 300, relistPeriodMs: 0 };

async function boot(serverOpts: ApiServerOptions = {}, timing = fast): Promise<{ sink: RecordingSink; src: ApiSource }> {
  restartsSeen = [];
  server = new TestApiServer({ bookmarkIntervalMs: 200, ...serverOpts });
  await server.start();
  server.create('Node', { metadata: { name: 'node-a' } });
  server.create('Node', { metadata: { name: 'node-b' } });
  server.create('Service', svc('web'));
  server.create('Service', svc('hidden', { 'service.kubernetes.io/headless': '' }));
  server.create('EndpointSlice', slice('web-1', '10.244.0.1'));
  server.create('ServiceCIDR', { metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16'] } });
  const sink = new RecordingSink();
  const kc = loadKubeConfig({ master: server.url });
  const src = new ApiSource({ client: createKubeClient(kc), nodeName: 'node-a', log, timing, onRestart: (kind) => restartsSeen.push(kind) });
  source = src;
  await src.start(sink);
  return { sink, src };
}

let restartsSeen: ObjectKind[] = [];

/** The sink converges on the server's state (selector applied) for every kind. */
async function converged(sink: RecordingSink, deadlineMs = 10_000): Promise<void> {
  const want: Record<ObjectKind, KubeObject[]> = {
    Service: server.list('Service').filter((o) => !('service.kubernetes.io/headless' in (o.metadata?.labels ?? {}))),
    EndpointSlice: server.list('EndpointSlice'),
    Node: server.list('Node').filter((o) => o.metadata?.name === 'node-a'),
    ServiceCIDR: server.list('ServiceCIDR'),
  };
  await eventually(() => {
    for (const kind of ['Service', 'EndpointSlice', 'Node', 'ServiceCIDR'] as const) expect(sink.versions(kind), kind).toEqual(versionsOf(want[kind]));
  }, deadlineMs);
}

/** Changes of every kind: an add, an update, a delete. */
function churn(tag: string): void {
  server.create('Service', svc(`s-${tag}`));
  const web = server.list('Service').find((o) => o.metadata?.name === 'web') as KubeObject;
  server.update('Service', { ...web, spec: { ...(web.spec as object), sessionAffinity: tag } });
  const slices = server.list('EndpointSlice');
  if (slices[0]) server.delete('EndpointSlice', slices[0]);
  server.create('EndpointSlice', slice(`web-${tag}`, '10.244.0.9'));
  const node = server.list('Node').find((o) => o.metadata?.name === 'node-a') as KubeObject;
  server.update('Node', { ...node, metadata: { ...node.metadata, labels: { tag } } });
  server.create('ServiceCIDR', { metadata: { name: `extra-${tag}` }, spec: { cidrs: ['10.97.0.0/16'] } });
  const cidr = server.list('ServiceCIDR').find((o) => o.metadata?.name === 'kubernetes');
  if (cidr) server.delete('ServiceCIDR', cidr);
}


/** A directory with `token` and a `kubeconfig` that authenticates with it (kubeadm's tokenFile form). */
function tokenFileKubeconfig(url: string, token: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-api-token-'));
  writeFileSync(join(dir, 'token'), `${token}\n`);
  writeFileSync(join(dir, 'kubeconfig'), [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{ name: c, cluster: { server: "${url}" } }]`,
    'users: [{ name: kube-proxy, user: { tokenFile: token } }]',
    'contexts: [{ name: x, context: { cluster: c, user: kube-proxy } }]', 'current-context: x', '',
  ].join('\n'));
  return dir;
}

describe('ApiSource against the test API server', () => {
  it('delivers the initial list with the label and field selectors, then synced', async () => {
    const { sink } = await boot();
    await eventually(() => expect([...sink.synced_].sort()).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']), 5000);
    expect([...sink.state.Service.keys()]).toEqual(['default/web']);
    expect([...sink.state.Node.keys()]).toEqual(['node-a']);
    // Every ServiceCIDR, cluster-scoped (keyed by name), with its wire type meta.
    expect([...sink.state.ServiceCIDR.keys()]).toEqual(['kubernetes']);
    expect(sink.state.ServiceCIDR.get('kubernetes')).toMatchObject({ kind: 'ServiceCIDR', apiVersion: 'networking.k8s.io/v1', spec: { cidrs: ['10.96.0.0/16'] } });
    expect(server.requests.find((r) => r.path === '/apis/networking.k8s.io/v1/servicecidrs' && r.query.watch === 'true')).toBeDefined();
    expect(sink.state.Service.get('default/web')).toMatchObject({ kind: 'Service', apiVersion: 'v1' });
    expect(sink.calls.indexOf('replace Service 1')).toBeLessThan(sink.calls.indexOf('synced Service'));
  });

  it('delivers adds, updates, deletes and selector transitions from the watch', async () => {
    const { sink, src } = await boot();
    await converged(sink);
    churn('one');
    const hidden = server.list('Service').find((o) => o.metadata?.name === 'hidden') as KubeObject;
    server.update('Service', { ...hidden, metadata: { ...hidden.metadata, labels: {} } });
    await converged(sink);
    expect(sink.state.Service.has('default/hidden')).toBe(true);
    expect(src.stats.Service.events).toBeGreaterThan(0);
    expect(src.stats.Service.restarts).toBe(0);
  });

  it.each([
    ['reset mid-stream', () => server.resetWatches()],
    ['closed cleanly', () => server.closeWatches()],
  ])('recovers when every watch is %s, without losing an update', async (_label, cut) => {
    const { sink } = await boot();
    await converged(sink);
    for (let i = 0; i < 5; i++) {
      cut();
      churn(`cut${i}`);
    }
    await converged(sink);
  });

  it.each(['event', 'status'] as const)('relists after 410 Gone (%s) and applies deletions it missed', async (mode) => {
    const { sink, src } = await boot();
    await converged(sink);
    server.goneMode = mode;
    server.setWatchDelay(300);
    // A clean end makes client-node resume from its RV (a reset would make us relist anyway).
    server.closeWatches();
    churn('gone');
    server.compactHistory();
    await converged(sink);
    server.setWatchDelay(0);
    expect(server.counters.gone).toBeGreaterThan(0);
    expect(src.stats.EndpointSlice.lists).toBeGreaterThan(1);
    expect(sink.state.EndpointSlice.has('default/web-1')).toBe(false);
  });

  it('survives slow lists', async () => {
    const { sink } = await boot();
    await converged(sink);
    server.setListDelay(500);
    server.compactHistory();
    churn('slow');
    await converged(sink);
  });

  it('recovers from an outage (connection refused) with capped backoff, logging each restart', async () => {
    const { sink, src } = await boot();
    await converged(sink);
    await server.stop();
    churn('down');
    await new Promise((r) => setTimeout(r, 2500));
    await server.start();
    await converged(sink);
    expect(src.stats.Service.restarts).toBeGreaterThan(1);
    // Every restart reaches the metrics hook, with its kind.
    expect(restartsSeen.filter((k) => k === 'Service').length).toBe(src.stats.Service.restarts);
    const warn = log.records.find((r) => r.msg === 'watch restarting');
    expect(warn?.obj).toMatchObject({ resource: expect.any(String), delayMs: expect.any(Number) });
    expect(warn?.obj.err).toBeDefined();
  });

  it('recovers from a real 30 s outage', async () => {
    const { sink } = await boot();
    await converged(sink);
    await server.stop();
    churn('long');
    await new Promise((r) => setTimeout(r, 30_000));
    await server.start();
    await converged(sink);
  }, 60_000);

  it.each(['close', 'reset'] as const)('relists when the server is restored from backup (watches %s, RVs go backwards)', async (cut) => {
    const { sink } = await boot();
    await converged(sink);
    server.backup();
    churn('lost1');
    churn('lost2');
    await converged(sink);
    server.restoreFromBackup(cut);
    churn('after');
    await converged(sink);
    if (cut === 'close') expect(server.counters.tooLarge).toBeGreaterThan(0);
  });

  it('restarts a watch that goes silent (stall watchdog)', async () => {
    const { sink, src } = await boot({ bookmarkIntervalMs: 60_000 }, { ...fast, stallTimeoutMs: 300 });
    await converged(sink);
    await eventually(() => expect(src.stats.Service.stalls).toBeGreaterThan(0), 5000);
    churn('stall');
    await converged(sink);
  });

  it('keeps going when a sink handler throws', async () => {
    const { sink, src } = await boot();
    await converged(sink);
    sink.throwFor = (_kind, key) => key === 'default/s-bad';
    server.create('Service', svc('s-bad'));
    server.create('Service', svc('s-good'));
    await eventually(() => expect(sink.state.Service.has('default/s-good')).toBe(true), 5000);
    expect(src.stats.Service.handlerErrors).toBe(1);
    expect(log.records.some((r) => r.msg === 'cluster state handler failed')).toBe(true);
    sink.throwFor = undefined;
    churn('after-throw');
    await eventually(() => expect(sink.state.Service.has('default/s-after-throw')).toBe(true), 5000);
  });

  it('authenticates with the token from a kubeconfig tokenFile', async () => {
    server = new TestApiServer({ token: 'tok-123' });
    await server.start();
    server.create('Service', svc('web'));
    const dir = tokenFileKubeconfig(server.url, 'tok-123');
    const sink = new RecordingSink();
    source = new ApiSource({ client: createKubeClient(loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig') })), nodeName: 'n', log, timing: fast });
    await source.start(sink);
    await eventually(() => expect([...sink.state.Service.keys()]).toEqual(['default/web']), 5000);
    expect(server.counters.unauthorized).toBe(0);
  });

  it('takes the node IPs from the watched Node and reports when they change', async () => {
    server = new TestApiServer({ bookmarkIntervalMs: 200 });
    await server.start();
    const addrs = (ip: string) => ({ addresses: [{ type: 'ExternalIP', address: '203.0.113.7' }, { type: 'InternalIP', address: ip }] });
    server.create('Node', { metadata: { name: 'node-b' }, status: addrs('192.0.2.12') });
    server.create('Node', { metadata: { name: 'node-a' }, status: addrs('192.0.2.11') });
    const sink = new RecordingSink();
    source = new ApiSource({ client: createKubeClient(loadKubeConfig({ master: server.url })), nodeName: 'node-a', log, timing: fast });
    const { tracker, nodeIPs } = await startSourceForNodeIPs({ source, state: sink, nodeName: 'node-a', bindAddress: '0.0.0.0', waitMs: 10_000, logger: syncLogger() });
    expect(nodeIPs).toMatchObject({ primaryFamily: 'IPv4', byFamily: { IPv4: '192.0.2.11' }, source: 'node' });
    expect([...sink.state.Node.keys()]).toEqual(['node-a']);
    const changes: string[] = [];
    tracker.fix(tracker.ips, (before, after) => changes.push(`${before.join()} -> ${after.join()}`));
    const node = server.list('Node').find((o) => o.metadata?.name === 'node-a') as KubeObject;
    server.update('Node', { ...node, metadata: { ...node.metadata, labels: { zone: 'z' } } });
    server.update('Node', { ...node, status: addrs('192.0.2.21') });
    await eventually(() => expect(changes).toEqual(['192.0.2.11 -> 192.0.2.21']), 5000);
  });

  it('spaces its list and watch requests by clientConnection.qps/burst (a token bucket, as client-go)', async () => {
    server = new TestApiServer({ bookmarkIntervalMs: 200 });
    await server.start();
    server.create('Node', { metadata: { name: 'node-a' } });
    server.create('Service', svc('web'));
    const limit = { qps: 4, burst: 2 };
    const createdAt = Date.now();
    const kc = loadKubeConfig({ master: server.url, rateLimit: limit });
    const sink = new RecordingSink();
    source = new ApiSource({ client: createKubeClient(kc), nodeName: 'node-a', log, timing: fast });
    await source.start(sink);
    // Four lists, then four watches: eight requests, of which only `burst` may go at once.
    await eventually(() => expect(server.requests.length).toBeGreaterThanOrEqual(8), 10_000);
    const times = server.requests.map((r) => r.at - createdAt);
    times.forEach((t, i) => {
      // Request i needs i + 1 tokens: `burst` at start, then one per 1/qps s (1 ms for the clock's grain).
      const earliest = (Math.max(0, i + 1 - limit.burst) * 1000) / limit.qps - 1;
      expect(t, `request ${i} (${server.requests[i]?.path})`).toBeGreaterThanOrEqual(earliest);
    });
    await eventually(() => expect([...sink.synced_].sort()).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']), 5000);
  });

  it('reads a rotated token file again after a 401 instead of retrying the old token', async () => {
    server = new TestApiServer({ token: 'tok-1', bookmarkIntervalMs: 200 });
    await server.start();
    server.create('Service', svc('web'));
    const dir = tokenFileKubeconfig(server.url, 'tok-1');
    // A frozen clock: the once-a-minute re-read never comes due, so only the 401 can trigger one.
    const kc = loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig'), now: () => 0 });
    const sink = new RecordingSink();
    source = new ApiSource({ client: createKubeClient(kc), nodeName: 'n', log, timing: fast });
    await source.start(sink);
    await eventually(() => expect([...sink.state.Service.keys()]).toEqual(['default/web']), 5000);
    // The kubelet rotates the bound token; the API server stops accepting the old one.
    writeFileSync(join(dir, 'token'), 'tok-2\n');
    server.setToken('tok-2');
    server.closeWatches();
    server.create('Service', svc('after'));
    await eventually(() => expect([...sink.state.Service.keys()].sort()).toEqual(['default/after', 'default/web']), 10_000);
    expect(server.counters.unauthorized).toBeGreaterThan(0);
    expect(server.requests.at(-1)?.authorization).toBe('Bearer tok-2');
    expect(log.records.some((r) => r.msg.startsWith('API server refused our credentials (401)'))).toBe(true);
  });
});
