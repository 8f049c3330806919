// Differential test of list-watch.ts against client-node's ListWatch (cache.js), the code it ports:
// both are driven by the same scripted watch and list (events, clean ends, 410 Gone, timeouts,
// errors) and must make the same callbacks, the same watch requests and the same reconnect delays.
import * as clientNode from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ListWatch, type ListedObject, type ObjectList } from './list-watch.ts';
import type { Watch } from './watch.ts';

type Done = (err: unknown) => void;
type Callback = (phase: string, obj: unknown, raw?: unknown) => void;

const obj = (name: string, rv: string, ns = 'default'): ListedObject => ({ metadata: { name, namespace: ns, resourceVersion: rv } });
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** The watch side both implementations call: records each request, lets the script feed events. */
class ScriptedWatch {
  readonly log: string[];
  cb: Callback | undefined;
  done: Done | undefined;
  constructor(log: string[]) {
    this.log = log;
  }
  watch(path: string, params: Record<string, unknown>, cb: Callback, done: Done): Promise<AbortController> {
    this.log.push(`watch ${path} ${JSON.stringify(params)}`);
    this.cb = cb;
    this.done = done;
    return Promise.resolve(new AbortController());
  }
}

interface Driver {
  start(): Promise<void>;
  on(verb: string, cb: (o: unknown) => void): void;
}

async function script(make: (watch: ScriptedWatch, listFn: () => Promise<ObjectList<ListedObject>>, delayFn: (ms: number) => Promise<void>) => Driver): Promise<string[]> {
  const log: string[] = [];
  const watch = new ScriptedWatch(log);
  const lists: ObjectList<ListedObject>[] = [
    { metadata: { resourceVersion: '10' }, items: [obj('a', '1'), obj('b', '1'), obj('z', '1', 'other')] },
    { metadata: { resourceVersion: '16' }, items: [obj('a', '15'), obj('d', '15')] },
  ];
  const listFn = (): Promise<ObjectList<ListedObject>> => {
    log.push('list');
    const next = lists.shift();
    return next ? Promise.resolve(next) : Promise.reject(Object.assign(new Error('list refused'), { statusCode: 503 }));
  };
  const delayFn = (ms: number): Promise<void> => {
    log.push(`delay ${ms}`);
    return Promise.resolve();
  };
  const lw = make(watch, listFn, delayFn);
  const name = (o: unknown): string => {
    const m = (o as ListedObject).metadata;
    return `${m?.namespace ?? ''}/${m?.name ?? ''}@${m?.resourceVersion ?? ''}`;
  };
  for (const verb of ['add', 'update', 'delete', 'connect']) lw.on(verb, (o) => log.push(`${verb} ${verb === 'connect' ? '' : name(o)}`));
  lw.on('error', (err) => log.push(`error ${String((err as Error).message)}`));
  await lw.start();
  const feed = (phase: string, o: unknown): void => watch.cb?.(phase, o, { type: phase, object: o });
  const end = async (err: unknown): Promise<void> => {
    watch.done?.(err);
    for (let i = 0; i < 5; i++) await tick();
  };
  feed('ADDED', obj('c', '11'));
  feed('MODIFIED', obj('a', '1')); // same resourceVersion: no update
  feed('MODIFIED', obj('a', '12'));
  feed('DELETED', obj('x', '12')); // never seen: no delete
  feed('DELETED', obj('b', '13'));
  feed('BOOKMARK', { metadata: { resourceVersion: '14' } });
  await end(null); // clean end: resume from 14 (no delay after events)
  await end(null); // again with no event in between: a delay
  await end(null); // and a longer one
  feed('ERROR', { code: 500, metadata: {} }); // not 410: nothing changes (nor the reconnect delay)
  feed('ERROR', { code: 410, metadata: {} });
  await end(null); // relist: z's namespace and c are gone, d added, a updated
  await end(new DOMException('timed out', 'TimeoutError')); // reconnect at once
  await end(Object.assign(new Error('Gone'), { statusCode: 410 })); // relist, which fails
  await end(Object.assign(new Error('Internal Server Error'), { statusCode: 500 })); // stops with an error
  return log;
}

describe('list-watch.ts behaves as client-node ListWatch', () => {
  it('same callbacks, watch requests and delays for the same list and watch script', async () => {
    const ours = await script((watch, listFn, delayFn) => {
      const lw = new ListWatch<ListedObject>('/api/v1/services', watch as unknown as Watch, listFn, false, 'a=b', undefined, { delayFn });
      return { start: () => lw.start(), on: (verb, cb) => lw.on(verb as 'add', cb) };
    });
    const theirs = await script((watch, listFn, delayFn) => {
      const lw = new clientNode.ListWatch<clientNode.KubernetesObject>(
        '/api/v1/services', watch as unknown as clientNode.Watch, listFn as () => Promise<clientNode.KubernetesListObject<clientNode.KubernetesObject>>,
        false, 'a=b', undefined, { delayFn },
      );
      return { start: () => lw.start(), on: (verb, cb) => lw.on(verb as 'add', cb) };
    });
    // The script does exercise each rule (this is what the comparison covers).
    expect(theirs).toContain('update default/a@12');
    expect(theirs).not.toContain('update default/a@1');
    expect(theirs).not.toContain('delete default/x@12');
    expect(theirs).toContain('delete other/z@1');
    expect(theirs.filter((l) => l.startsWith('delay'))).toEqual(['delay 1000', 'delay 2000', 'delay 4000']);
    expect(theirs.filter((l) => l === 'list')).toHaveLength(3);
    expect(theirs.slice(-2)).toEqual(['error list refused', 'error Internal Server Error']);
    expect(ours).toEqual(theirs);
  });
});
