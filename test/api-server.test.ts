// The test API server's own protocol behaviour, checked with plain fetch (so the client-node tests
// that rely on it rest on something verified).
import { afterEach, describe, expect, it } from 'vitest';
import { TestApiServer } from './support/api-server.ts';
import type { KubeObject } from './support/api-server.ts';

const svc = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  metadata: { name, namespace: 'default', labels },
  spec: { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] },
});

interface Event { type: string; object: { metadata?: { name?: string; resourceVersion?: string }; code?: number } }

/** Read NDJSON watch events until `count` arrived or the stream ends. */
async function readEvents(url: string, count: number): Promise<{ status: number; events: Event[] }> {
  const ctl = new AbortController();
  const res = await fetch(url, { signal: ctl.signal });
  const events: Event[] = [];
  if (!res.body) return { status: res.status, events };
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, nl)) as Event);
      buf = buf.slice(nl + 1);
    }
    if (events.length >= count) break;
  }
  // Leaving the loop cancels the body; abort drops the connection so the server sees the close.
  ctl.abort();
  return { status: res.status, events };
}

let server: TestApiServer;
afterEach(async () => { await server.stop(); });

async function boot(opts = {}): Promise<TestApiServer> {
  server = new TestApiServer(opts);
  await server.start();
  return server;
}

describe('test api server', () => {
  it('lists with a resourceVersion and filters by label selector forms', async () => {
    await boot();
    server.create('Service', svc('a'));
    server.create('Service', svc('b', { 'service.kubernetes.io/headless': '' }));
    server.create('Service', svc('c', { app: 'x' }));
    const cases: [string, string[]][] = [
      ['', ['a', 'b', 'c']],
      ['!service.kubernetes.io/headless', ['a', 'c']],
      ['app', ['c']],
      ['app=x', ['c']],
      ['app!=x', ['a', 'b']],
      ['!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless', ['a', 'c']],
    ];
    for (const [sel, names] of cases) {
      const res = await fetch(`${server.url}/api/v1/services?labelSelector=${encodeURIComponent(sel)}`);
      const body = (await res.json()) as { kind: string; metadata: { resourceVersion: string }; items: KubeObject[] };
      expect(body.kind).toBe('ServiceList');
      expect(body.metadata.resourceVersion).toBe(server.resourceVersion);
      expect(body.items.map((i) => i.metadata?.name).sort(), sel).toEqual(names);
    }
  });

  it('gets a node by name and by field selector', async () => {
    await boot();
    server.create('Node', { metadata: { name: 'n1' } });
    server.create('Node', { metadata: { name: 'n2' } });
    const one = (await (await fetch(`${server.url}/api/v1/nodes/n2`)).json()) as KubeObject;
    expect(one.metadata?.name).toBe('n2');
    expect((await fetch(`${server.url}/api/v1/nodes/zz`)).status).toBe(404);
    const list = (await (await fetch(`${server.url}/api/v1/nodes?fieldSelector=metadata.name%3Dn1`)).json()) as { items: KubeObject[] };
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['n1']);
  });

  it('streams watch events from a resourceVersion, with selector transitions', async () => {
    await boot();
    const a = server.create('Service', svc('a'));
    const rv = server.resourceVersion;
    const pending = readEvents(`${server.url}/api/v1/services?watch=true&resourceVersion=${rv}&labelSelector=!hidden`, 4);
    await new Promise((r) => setTimeout(r, 50));
    server.create('Service', svc('b'));
    server.update('Service', { ...a, metadata: { ...a.metadata, labels: { hidden: 'y' } } });
    server.update('Service', { ...a, metadata: { ...a.metadata, labels: {} } });
    server.delete('Service', a);
    const { events } = await pending;
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED b', 'DELETED a', 'ADDED a', 'DELETED a']);
    const rvs = events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
  });

  it('replays history after a resourceVersion and sends bookmarks when asked', async () => {
    await boot({ bookmarkIntervalMs: 20 });
    const rv = server.resourceVersion;
    server.create('Service', svc('a'));
    const { events } = await readEvents(`${server.url}/api/v1/services?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, 2);
    expect(events[0]?.type).toBe('ADDED');
    expect(events[1]?.type).toBe('BOOKMARK');
    expect(events[1]?.object.metadata?.resourceVersion).toBe(server.resourceVersion);
  });

  it('answers 410 Gone for a compacted RV, as an ERROR event or as an HTTP status', async () => {
    await boot();
    const rv = server.resourceVersion;
    server.compactHistory();
    const asEvent = await readEvents(`${server.url}/api/v1/services?watch=true&resourceVersion=${rv}`, 1);
    expect(asEvent.status).toBe(200);
    expect(asEvent.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    server.goneMode = 'status';
    const asStatus = await fetch(`${server.url}/api/v1/services?watch=true&resourceVersion=${rv}`);
    expect(asStatus.status).toBe(410);
    expect(server.counters.gone).toBe(2);
  });

  it('drops old history beyond maxHistory (410) and refuses RVs from the future (504)', async () => {
    await boot({ maxHistory: 2 });
    const rv = server.resourceVersion;
    for (const n of ['a', 'b', 'c']) server.create('Service', svc(n));
    expect((await readEvents(`${server.url}/api/v1/services?watch=true&resourceVersion=${rv}`, 1)).events[0]?.type).toBe('ERROR');
    server.backup();
    server.create('Service', svc('d'));
    const ahead = server.resourceVersion;
    server.restoreFromBackup();
    expect((await fetch(`${server.url}/api/v1/services?watch=true&resourceVersion=${ahead}`)).status).toBe(504);
    const list = (await (await fetch(`${server.url}/api/v1/services`)).json()) as { items: KubeObject[] };
    expect(list.items.map((i) => i.metadata?.name).sort()).toEqual(['a', 'b', 'c']);
    expect(Number(server.resourceVersion)).toBeLessThan(Number(ahead));
  });

  it('refuses connections while stopped and comes back on the same port', async () => {
    await boot();
    const port = server.port;
    await server.stop();
    await expect(fetch(`${server.url}/api/v1/services`)).rejects.toThrow();
    await server.start();
    expect(server.port).toBe(port);
    expect((await fetch(`${server.url}/api/v1/services`)).status).toBe(200);
  });

  it('ends watches cleanly or by reset, and checks the bearer token', async () => {
    await boot({ token: 'sekret' });
    expect((await fetch(`${server.url}/api/v1/services`)).status).toBe(401);
    const auth = { headers: { authorization: 'Bearer sekret' } };
    const res = await fetch(`${server.url}/api/v1/services?watch=true&resourceVersion=${server.resourceVersion}`, auth);
    expect(server.watchCount).toBe(1);
    server.closeWatches();
    expect(await res.text()).toBe('');
    const res2 = await fetch(`${server.url}/api/v1/services?watch=true&resourceVersion=${server.resourceVersion}`, auth);
    server.resetWatches();
    await expect(res2.text()).rejects.toThrow();
    expect(server.watchCount).toBe(0);
  });

  it('delays lists on request', async () => {
    await boot();
    server.setListDelay(150);
    const t0 = Date.now();
    await fetch(`${server.url}/api/v1/services`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(server.counters.lists.Service).toBe(1);
  });
});
