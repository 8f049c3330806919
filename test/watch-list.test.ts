// Streaming lists (WatchList) against the test API server, which serves them as kube-apiserver
// does: ADDED events for the current state, a bookmark annotated k8s.io/initial-events-end, then
// changes; 422 when its feature gate is off or the parameters are incomplete. An API server that
// ignores the parameters (older than KEP-3157) is a plain HTTP server here.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { WatchListUnsupported, streamList } from '../src/sources/watch-list.ts';
import { TestApiServer, type KubeObject } from './support/api-server.ts';
import { RecordingSink, eventually, recordingLogger } from './support/api-server-sink.ts';

const svc = (name: string): KubeObject => ({ metadata: { name, namespace: 'default' }, spec: { clusterIP: 'None' } });
const timing = { backoffInitialMs: 50, backoffMaxMs: 200, stallTimeoutMs: 60_000, watchTimeoutSeconds: 300, relistPeriodMs: 0 };

let server: TestApiServer | undefined;
let plain: Server | undefined;
let source: ApiSource | undefined;
afterEach(async () => {
  await source?.stop();
  await server?.stop();
  plain?.close();
  source = undefined;
  server = undefined;
  plain = undefined;
});

async function boot(opts: { watchList?: boolean } = {}): Promise<TestApiServer> {
  const srv = new TestApiServer(opts);
  server = srv;
  await srv.start();
  for (const n of ['a', 'b', 'c']) srv.create('Service', svc(n));
  return srv;
}

const stream = (url: string, item: (o: KubeObject) => void): Promise<string> =>
  streamList<KubeObject>(loadKubeConfig({ master: url }), '/api/v1/services', {}, item, { timeoutSeconds: 60, signal: new AbortController().signal });

describe('streamList', () => {
  it('streams the initial state and resolves with the resourceVersion of its end bookmark', async () => {
    const srv = await boot();
    const got: string[] = [];
    const rv = await stream(srv.url, (o) => got.push(o.metadata?.name ?? ''));
    expect(got.sort()).toEqual(['a', 'b', 'c']);
    expect(rv).toBe(srv.resourceVersion);
    const req = srv.requests.find((r) => r.query.sendInitialEvents === 'true');
    expect(req?.query).toMatchObject({ watch: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true' });
    expect(req?.query.resourceVersion).toBeUndefined();
    expect(srv.counters.lists.Service).toBe(0);
  });

  it('reports a server that refuses it (feature gate off: 422) as unsupported', async () => {
    const srv = await boot({ watchList: false });
    await expect(stream(srv.url, () => {})).rejects.toBeInstanceOf(WatchListUnsupported);
  });

  it('reports a server that ignores the parameters (the stream ends with no end bookmark) as unsupported', async () => {
    plain = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ADDED', object: svc('a') })}\n`);
    });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    const addr = plain.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    await expect(stream(`http://127.0.0.1:${addr.port}`, () => {})).rejects.toBeInstanceOf(WatchListUnsupported);
  });
});

describe('ApiSource lists by streaming, and by pages where it cannot', () => {
  const start = async (srv: TestApiServer): Promise<{ sink: RecordingSink; log: ReturnType<typeof recordingLogger> }> => {
    srv.create('Node', { metadata: { name: 'n' } });
    const sink = new RecordingSink();
    const log = recordingLogger();
    source = new ApiSource({ client: createKubeClient(loadKubeConfig({ master: srv.url })), nodeName: 'n', log, timing });
    await source.start(sink);
    await eventually(() => expect(sink.synced_.size).toBe(4), 5000);
    return { sink, log };
  };

  it('streams every kind, then watches from the end bookmark: no list request, nothing missed', async () => {
    const srv = await boot();
    const { sink } = await start(srv);
    expect(srv.counters.watchLists).toBeGreaterThanOrEqual(4);
    expect(Object.values(srv.counters.lists)).toEqual([0, 0, 0, 0]);
    expect([...sink.state.Service.keys()].sort()).toEqual(['default/a', 'default/b', 'default/c']);
    expect(sink.calls).toContain('retain Service 3');
    // The follow-up watch resumes from the bookmark's resourceVersion.
    const resumed = srv.requests.find((r) => r.path === '/api/v1/services' && r.query.watch === 'true' && r.query.sendInitialEvents === undefined);
    expect(resumed?.query.resourceVersion).toBeTruthy();
    srv.create('Service', svc('d'));
    await eventually(() => expect(sink.state.Service.has('default/d')).toBe(true), 5000);
    // 410 on the watch: a new streaming list, and the deletion missed meanwhile is applied.
    srv.setWatchDelay(300);
    srv.closeWatches();
    srv.delete('Service', svc('a'));
    srv.compactHistory();
    await eventually(() => expect([...sink.state.Service.keys()].sort()).toEqual(['default/b', 'default/c', 'default/d']), 10_000);
    srv.setWatchDelay(0);
  });

  it('falls back to paginated lists once, with one log line per kind, when the server refuses streaming', async () => {
    const srv = await boot({ watchList: false });
    const { sink, log } = await start(srv);
    expect([...sink.state.Service.keys()].sort()).toEqual(['default/a', 'default/b', 'default/c']);
    expect(srv.counters.lists.Service).toBe(1);
    const lines = log.records.filter((r) => r.msg === 'API server does not stream lists (WatchList); listing in pages instead');
    expect(lines.map((r) => (r.obj as { resource?: string }).resource).sort()).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']);
    // A relist after that does not try streaming again.
    const refusedBefore = srv.requests.filter((r) => r.query.sendInitialEvents === 'true').length;
    srv.compactHistory();
    await eventually(() => expect(srv.counters.lists.Service).toBeGreaterThan(1), 10_000);
    expect(srv.requests.filter((r) => r.query.sendInitialEvents === 'true').length).toBe(refusedBefore);
  });
});
