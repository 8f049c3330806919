// The whole control plane with a recording Proxier in place of a mode: source → ClusterState →
// SyncLoop → Proxier, on the real clock. The API path is client-node talking HTTP to the test
// API server; the manifests path reads examples/manifests. Both must hand the proxier the same
// model; a burst of 1,000 EndpointSlice changes must cost a handful of syncs; an API outage must
// lose no update.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterState } from '../src/model/cluster-state.ts';
import type { IPFamily, Proxier, ProxyState, SyncResult } from '../src/model/types.ts';
import { realClock } from '../src/server/real-clock.ts';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { parseManifest } from '../src/sources/manifest-parse.ts';
import { ManifestSource } from '../src/sources/manifest-source.ts';
import type { ClusterSource, ObjectKind } from '../src/sources/types.ts';
import { SyncLoop } from '../src/sync/sync-loop.ts';
import { RecordingMetrics, recordingLogger } from '../src/sync/testing/recorders.ts';
import { TestApiServer, type KubeObject } from './support/api-server.ts';
import { eventually } from './support/api-server-sink.ts';

const MANIFESTS = fileURLToPath(new URL('../examples/manifests/', import.meta.url));
const NODE = 'node-a';

class RecordingProxier implements Proxier {
  readonly mode = 'iptables' as const;
  readonly family: IPFamily = 'IPv4';
  readonly states: ProxyState[] = [];
  get last(): ProxyState | undefined {
    return this.states.at(-1);
  }
  async sync(state: ProxyState): Promise<SyncResult> {
    this.states.push(state);
    return { kind: state.full ? 'full' : 'partial' };
  }
  async cleanup(): Promise<void> {}
}

interface Pipeline {
  readonly proxier: RecordingProxier;
  readonly state: ClusterState;
}

const running: { source: ClusterSource; loop: SyncLoop }[] = [];
let server: TestApiServer | undefined;
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.source.stop();
    await r.loop.stop();
  }
  await server?.stop();
  server = undefined;
});

async function pipeline(source: ClusterSource, requireNode: boolean, minSyncPeriodMs = 50): Promise<Pipeline> {
  const state = new ClusterState({ nodeName: NODE, families: ['IPv4'], requireNode });
  const proxier = new RecordingProxier();
  const loop = new SyncLoop({
    clock: realClock, logger: recordingLogger(), state, proxiers: [proxier], metrics: new RecordingMetrics(),
    minSyncPeriodMs, syncPeriodMs: 60_000,
  });
  state.onChange(() => loop.requestSync());
  running.push({ source, loop });
  loop.start();
  await source.start(state);
  return { proxier, state };
}

function manifestObjects(): { kind: ObjectKind; obj: KubeObject }[] {
  return readdirSync(MANIFESTS)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseManifest(f, readFileSync(`${MANIFESTS}${f}`, 'utf8')).objects)
    .map((o) => ({ kind: o.kind, obj: o.obj as KubeObject }));
}

async function apiPipeline(minSyncPeriodMs?: number): Promise<Pipeline> {
  server = new TestApiServer({ bookmarkIntervalMs: 200 });
  await server.start();
  for (const { kind, obj } of manifestObjects()) server.create(kind, obj);
  const log = recordingLogger();
  const source = new ApiSource({
    client: createKubeClient(loadKubeConfig({ master: server.url })), nodeName: NODE, log,
    timing: { backoffInitialMs: 100, backoffMaxMs: 1000 },
  });
  return pipeline(source, true, minSyncPeriodMs);
}

/** The model a proxier is handed, without the change bookkeeping. */
function model(s: ProxyState | undefined): unknown {
  if (s === undefined) return undefined;
  // By name: the order objects arrive in (a paginated list is in key order) is not part of the model.
  const byName = <T>(entries: Iterable<[string, T]>): [string, T][] => [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
  return { services: byName(s.services.entries()), endpoints: byName(s.endpoints.entries()), node: s.node.name };
}

describe('control plane with a recording proxier', () => {
  it('hands the proxier the same model from the manifests dir and from the API server', async () => {
    const files = await pipeline(new ManifestSource({ dir: MANIFESTS, nodeName: NODE, log: recordingLogger() }), false);
    const api = await apiPipeline();
    await eventually(() => expect(files.proxier.last?.services.size).toBeGreaterThan(0), 10_000);
    await eventually(() => expect(model(api.proxier.last)).toEqual(model(files.proxier.last)), 10_000);
    expect(files.proxier.last?.services.has('demo/web:http')).toBe(true);
    expect(files.proxier.last?.endpoints.get('demo/web:http')).toHaveLength(3);
  });

  it('coalesces a burst of 1,000 EndpointSlice changes into a handful of syncs, ending on the last', async () => {
    const api = await apiPipeline(1000);
    await eventually(() => expect(api.proxier.last?.services.has('demo/web:http')).toBe(true), 10_000);
    const before = api.proxier.states.length;
    const slice = server?.list('EndpointSlice').find((o) => o.metadata?.labels?.['kubernetes.io/service-name'] === 'web');
    if (slice === undefined || server === undefined) throw new Error('fixture slice of demo/web missing');
    const endpoints = (slice as { endpoints: { addresses: string[] }[] }).endpoints;
    for (let i = 0; i < 1000; i++) {
      const first = endpoints[0];
      if (first === undefined) throw new Error('fixture slice has no endpoints');
      server.update('EndpointSlice', { ...slice, endpoints: [{ ...first, addresses: [`10.244.1.${(i % 200) + 20}`] }, ...endpoints.slice(1)] });
    }
    const lastIP = `10.244.1.${(999 % 200) + 20}`;
    await eventually(() => expect(api.proxier.last?.endpoints.get('demo/web:http')?.map((e) => e.ip)).toContain(lastIP), 15_000);
    const syncs = api.proxier.states.length - before;
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(5);
  });

  it('loses no update made while the API server is down', async () => {
    const api = await apiPipeline();
    await eventually(() => expect(api.proxier.last?.services.has('demo/web-sticky:http')).toBe(true), 10_000);
    if (server === undefined) throw new Error('no server');
    await server.stop();
    const sticky = server.list('Service').find((o) => o.metadata?.name === 'web-sticky');
    if (sticky === undefined) throw new Error('fixture service web-sticky missing');
    server.delete('Service', sticky);
    await new Promise((r) => setTimeout(r, 2000));
    await server.start();
    await eventually(() => expect(api.proxier.last?.services.has('demo/web-sticky:http')).toBe(false), 15_000);
    expect(api.proxier.last?.services.has('demo/web:http')).toBe(true);
  });
});
