// Differential test of watch.ts against client-node's Watch (watch.js), the code it ports: the same
// script against two test API servers in the same state (events, bookmarks, an ERROR 410 event and
// the stream's end, an HTTP 410 for a compacted resourceVersion, an HTTP 401) must give both the
// same callbacks and the same `done` outcomes.
import * as clientNode from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeConfig } from '../src/sources/kube-config.ts';
import { Watch } from '../src/sources/watch.ts';
import { TestApiServer, type KubeObject } from './support/api-server.ts';

type WatchFn = (path: string, params: Record<string, string>, cb: (phase: string, obj: unknown) => void, done: (err: unknown) => void) => Promise<AbortController>;

const svc = (name: string, port = 80): KubeObject => ({ metadata: { name, namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ port, protocol: 'TCP' }] } });
const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

async function script(makeWatch: (server: string, token: string) => WatchFn): Promise<string[]> {
  const server = new TestApiServer({ token: 'tok', bookmarkIntervalMs: 50 });
  await server.start();
  const log: string[] = [];
  try {
    server.create('Service', svc('a'));
    server.create('Service', svc('b'));
    const list = (await (await fetch(`${server.url}/api/v1/services`, { headers: { Authorization: 'Bearer tok' } })).json()) as { metadata: { resourceVersion: string } };
    const rv = list.metadata.resourceVersion;
    const watch = makeWatch(server.url, 'tok');
    let ended = false;
    const name = (o: unknown): string => (o as KubeObject).metadata?.name ?? '';
    const record = (phase: string, o: unknown): void => {
      // Bookmarks come on a timer: whether one fell between two events is not the client's doing.
      if (phase !== 'BOOKMARK') log.push(`${phase} ${phase === 'ERROR' ? String((o as { code?: number }).code) : name(o)}`);
      else if (!log.includes('BOOKMARK seen')) log.push('BOOKMARK seen');
    };
    const outcome = (label: string) => (err: unknown): void => {
      const e = err as { statusCode?: number; name?: string } | null;
      log.push(`${label} done ${e === null ? 'null' : `${e.name ?? ''} ${String(e.statusCode)}`}`);
      ended = true;
    };
    await watch('/api/v1/services', { resourceVersion: rv, allowWatchBookmarks: 'true' }, record, outcome('first'));
    await until(() => server.watchCount === 1);
    server.create('Service', svc('c'));
    server.update('Service', svc('a', 81));
    server.delete('Service', svc('b'));
    await until(() => log.length >= 3);
    await until(() => log.includes('BOOKMARK seen'));
    server.compactHistory();
    await until(() => ended);
    ended = false;
    server.goneMode = 'status';
    await watch('/api/v1/services', { resourceVersion: rv }, record, outcome('compacted'));
    await until(() => ended);
    ended = false;
    await makeWatch(server.url, 'wrong')('/api/v1/services', {}, record, outcome('unauthorized'));
    await until(() => ended);
  } finally {
    await server.stop();
  }
  return log;
}

describe('watch.ts behaves as client-node Watch', () => {
  it('same events and the same ends for the same server script', async () => {
    const theirs = await script((server, token) => {
      const kc = new clientNode.KubeConfig();
      kc.loadFromClusterAndUser({ name: 'c', server, skipTLSVerify: true }, { name: 'u', token });
      const w = new clientNode.Watch(kc);
      return (path, params, cb, done) => w.watch(path, params, cb, done);
    });
    const ours = await script((server, token) => {
      const kc = new KubeConfig();
      kc.loadFromOptions({ clusters: [{ name: 'c', server, skipTLSVerify: true }], users: [{ name: 'u', token }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
      const w = new Watch(kc);
      return (path, params, cb, done) => w.watch(path, params, cb, done);
    });
    expect(theirs).toEqual(['ADDED c', 'MODIFIED a', 'DELETED b', 'BOOKMARK seen', 'ERROR 410', 'first done null', 'compacted done Error 410', 'unauthorized done Error 401']);
    expect(ours).toEqual(theirs);
  });
});
