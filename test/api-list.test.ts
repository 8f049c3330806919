// Paginated lists against the test API server: the server pages as kube-apiserver does (key order,
// continue tokens reading one snapshot, 410 Expired once it is compacted) and listPaged reads them
// as client-go's pager does (limit 500, continue, one full list after a 410 on a continue token).
import { afterEach, describe, expect, it } from 'vitest';
import { listPaged } from '../src/sources/api-list.ts';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { TestApiServer, type KubeObject } from './support/api-server.ts';
import { RecordingSink, eventually, recordingLogger } from './support/api-server-sink.ts';

const svc = (name: string, ns = 'default'): KubeObject => ({ metadata: { name, namespace: ns }, spec: { clusterIP: 'None' } });

let server: TestApiServer;
let source: ApiSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await server.stop();
});

async function boot(names: string[]): Promise<void> {
  server = new TestApiServer();
  await server.start();
  for (const n of names) server.create('Service', svc(n));
}

async function get(path: string): Promise<{ status: number; body: { metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }; items: KubeObject[]; reason?: string } }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: (await res.json()) as never };
}

const names = (items: KubeObject[]): string[] => items.map((o) => o.metadata?.name ?? '');

describe('the test API server pages lists', () => {
  it('in key order, from one snapshot, with remainingItemCount, until no continue is left', async () => {
    await boot(['c', 'a', 'e', 'b', 'd']);
    const first = await get('/api/v1/services?limit=2');
    expect(names(first.body.items)).toEqual(['a', 'b']);
    expect(first.body.metadata.remainingItemCount).toBe(3);
    const rv = first.body.metadata.resourceVersion;
    // Written between pages: not in this list (a continue reads the first page's snapshot).
    server.create('Service', svc('aa'));
    const second = await get(`/api/v1/services?limit=2&continue=${first.body.metadata.continue ?? ''}`);
    expect(names(second.body.items)).toEqual(['c', 'd']);
    expect(second.body.metadata.resourceVersion).toBe(rv);
    const last = await get(`/api/v1/services?limit=2&continue=${second.body.metadata.continue ?? ''}`);
    expect(names(last.body.items)).toEqual(['e']);
    expect(last.body.metadata.continue).toBeUndefined();
    // Without limit: everything, as before.
    expect((await get('/api/v1/services')).body.items).toHaveLength(6);
  });

  it('answers 410 Expired to a continue token whose snapshot was compacted', async () => {
    await boot(['a', 'b', 'c']);
    const first = await get('/api/v1/services?limit=1');
    server.compactHistory();
    const next = await get(`/api/v1/services?limit=1&continue=${first.body.metadata.continue ?? ''}`);
    expect(next.status).toBe(410);
    expect(next.body.reason).toBe('Expired');
    expect(server.counters.continueExpired).toBe(1);
  });
});

describe('listPaged', () => {
  it('reads every page with limit and continue, and returns the list resourceVersion', async () => {
    await boot(['a', 'b', 'c', 'd', 'e']);
    const got: string[] = [];
    const rv = await listPaged<KubeObject>(loadKubeConfig({ master: server.url }), '/api/v1/services', {}, {
      page: (items) => got.push(...names(items)), restart: () => { throw new Error('no restart expected'); },
    }, { pageSize: 2 });
    expect(got).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(rv).toBe(server.resourceVersion);
    const lists = server.requests.filter((r) => r.path === '/api/v1/services');
    expect(lists.map((r) => [r.query.limit, r.query.continue === undefined])).toEqual([['2', true], ['2', false], ['2', false]]);
  });

  it('falls back to one full list when a continue token expires, dropping what it had', async () => {
    await boot(['a', 'b', 'c', 'd']);
    let got: string[] = [];
    let restarts = 0;
    let pages = 0;
    await listPaged<KubeObject>(loadKubeConfig({ master: server.url }), '/api/v1/services', {}, {
      page: (items) => {
        got.push(...names(items));
        // Compacted while we read: the next continue is refused; a deletion here must not survive.
        if (++pages === 1) {
          server.delete('Service', svc('d'));
          server.compactHistory();
        }
      },
      restart: () => { restarts++; got = []; },
    }, { pageSize: 2 });
    expect(restarts).toBe(1);
    expect(got).toEqual(['a', 'b', 'c']);
    const last = server.requests.filter((r) => r.path === '/api/v1/services').at(-1);
    expect(last?.query.limit).toBeUndefined();
    expect(last?.query.continue).toBeUndefined();
  });

  it('charges the rate limit once per list, not per continuation page', async () => {
    await boot(['a', 'b', 'c', 'd']);
    const throttled: number[] = [];
    const kc = loadKubeConfig({ master: server.url, rateLimit: { qps: 1, burst: 1 }, onThrottled: (ms) => throttled.push(ms) });
    const got: string[] = [];
    await listPaged<KubeObject>(kc, '/api/v1/services', {}, { page: (items) => got.push(...names(items)), restart: () => {} }, { pageSize: 1 });
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(throttled).toEqual([]);
    // The next list does wait for its token.
    await listPaged<KubeObject>(kc, '/api/v1/services', {}, { page: () => {}, restart: () => {} }, { pageSize: 1 });
    expect(throttled).toHaveLength(1);
  });

  it('rejects with the HTTP status on an error (401 here)', async () => {
    server = new TestApiServer({ token: 'right' });
    await server.start();
    await expect(listPaged(loadKubeConfig({ master: server.url }), '/api/v1/services', {}, { page: () => {}, restart: () => {} }))
      .rejects.toMatchObject({ statusCode: 401, reason: 'Unauthorized' });
  });
});

describe('ApiSource with paginated lists', () => {
  it('upserts page by page, then retains only the listed keys (a relist drops what was deleted)', async () => {
    await boot(['a', 'b', 'c', 'd', 'e']);
    server.create('Node', { metadata: { name: 'n' } });
    const sink = new RecordingSink();
    source = new ApiSource({
      client: createKubeClient(loadKubeConfig({ master: server.url })), nodeName: 'n', log: recordingLogger(), pageSize: 2,
      timing: { backoffInitialMs: 50, backoffMaxMs: 200, stallTimeoutMs: 60_000, watchTimeoutSeconds: 300, relistPeriodMs: 0 },
    });
    await source.start(sink);
    await eventually(() => expect(sink.synced_.has('Service')).toBe(true), 5000);
    const calls = sink.calls.filter((c) => c.split(' ')[1] === 'Service');
    expect(calls).toEqual(['upsert Service default/a', 'upsert Service default/b', 'upsert Service default/c', 'upsert Service default/d', 'upsert Service default/e', 'retain Service 5', 'synced Service']);
    // Missed while down, then a relist (410): the deleted Service goes.
    server.setWatchDelay(300);
    server.closeWatches();
    server.delete('Service', svc('c'));
    server.compactHistory();
    await eventually(() => expect([...sink.state.Service.keys()].sort()).toEqual(['default/a', 'default/b', 'default/d', 'default/e']), 10_000);
    server.setWatchDelay(0);
    expect(sink.calls).toContain('retain Service 4');
  });
});
