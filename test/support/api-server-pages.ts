// Paginated lists for the test API server, as kube-apiserver's etcd3 store serves them: `limit=N`
// returns the first N objects in key order with a `continue` token and `remainingItemCount`; the
// token reads on from the same snapshot (the list's resourceVersion) until the snapshot's revision
// is compacted, then answers 410 Expired ("The provided continue parameter is too old …"), which
// clients answer with a full list. Snapshots are kept per token chain (a test server holds few).
import type { KubeObject, Store } from './api-server-store.ts';
import { objectKey } from './api-server-store.ts';

export interface ListPage {
  rv: number;
  items: KubeObject[];
  continue?: string;
  remaining?: number;
}

export class ContinueExpired extends Error {}

interface Token { id: number; rv: number; start: number }

const MAX_SNAPSHOTS = 64;

export class ListPager {
  private readonly store: Store;
  private readonly snapshots = new Map<number, KubeObject[]>();
  private nextId = 1;

  constructor(store: Store) {
    this.store = store;
  }

  /** One list response for these query parameters; `current` is the filtered list now. */
  page(q: URLSearchParams, current: () => KubeObject[]): ListPage {
    const limitText = q.get('limit');
    const limit = limitText === null || limitText === '' ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`invalid limit ${limitText}`);
    const cont = q.get('continue');
    if (cont === null || cont === '') {
      if (limit === 0) return { rv: this.store.rv, items: current() };
      const items = [...current()].sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1));
      return this.slice(this.keep(items), this.store.rv, 0, limit);
    }
    const token = decode(cont);
    const items = this.snapshots.get(token.id);
    // The snapshot's revision was compacted (or the server went back to an older backup).
    if (items === undefined || token.rv < this.store.compactedRv || token.rv > this.store.rv) {
      throw new ContinueExpired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
    }
    return this.slice(token.id, token.rv, token.start, limit > 0 ? limit : items.length);
  }

  private keep(items: KubeObject[]): number {
    const id = this.nextId++;
    this.snapshots.set(id, items);
    for (const old of this.snapshots.keys()) {
      if (this.snapshots.size <= MAX_SNAPSHOTS) break;
      this.snapshots.delete(old);
    }
    return id;
  }

  private slice(id: number, rv: number, start: number, limit: number): ListPage {
    const items = this.snapshots.get(id) ?? [];
    const end = Math.min(items.length, start + limit);
    const page: ListPage = { rv, items: items.slice(start, end) };
    if (end < items.length) {
      page.continue = Buffer.from(JSON.stringify({ id, rv, start: end } satisfies Token)).toString('base64url');
      page.remaining = items.length - end;
    } else {
      this.snapshots.delete(id);
    }
    return page;
  }
}

function decode(text: string): Token {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Token;
    if (Number.isInteger(t.id) && Number.isInteger(t.rv) && Number.isInteger(t.start)) return t;
  } catch {
    // fall through: a token we never issued
  }
  throw new Error(`invalid continue token ${JSON.stringify(text)}`);
}
