// List, then watch from the list's resourceVersion, as client-node 2.0.1's ListWatch does
// (cache.js), with the same callbacks and the same reconnect rules, so informer-supervisor.ts
// supervises it unchanged:
// - a clean end of the watch reconnects from the last resourceVersion seen (after 1 s, doubling to
//   30 s while reconnects bring no event); a TimeoutError reconnects at once;
// - 410 Gone (HTTP or an ERROR event) forgets the resourceVersion, so the next round lists again;
//   other ERROR events change nothing (the server ends the stream after one);
// - any other error goes to the `error` callbacks and the ListWatch stays stopped;
// - a list diffs against the cache (delete callbacks for what is gone, add/update for the rest);
//   an ADDED/MODIFIED event with the cached resourceVersion is no update; a DELETED one for an
//   unknown object is dropped.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Watch } from './watch.ts';

export interface ListedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ObjectList<T> {
  metadata?: { resourceVersion?: string };
  items: T[];
}

type Verb = 'add' | 'update' | 'delete' | 'error' | 'connect';
const BASE_RECONNECT_DELAY_MS = 1000;
const MAX_RECONNECT_DELAY_MS = 30_000;

export class ListWatch<T extends ListedObject> {
  readonly #objects = new Map<string, Map<string, T>>();
  readonly #callbacks: Record<Verb, ((arg: T | unknown) => void)[]> = { add: [], update: [], delete: [], error: [], connect: [] };
  readonly #path: string;
  readonly #watch: Watch;
  readonly #listFn: () => Promise<ObjectList<T>>;
  readonly #labelSelector: string | undefined;
  readonly #fieldSelector: string | undefined;
  readonly #delayFn: (ms: number) => Promise<unknown>;
  #request: AbortController | undefined;
  #stopped = false;
  #reconnectDelayMs = 0;
  #hasConnected = false;
  #resourceVersion = '';

  constructor(
    path: string, watch: Watch, listFn: () => Promise<ObjectList<T>>, autoStart = true,
    labelSelector?: string, fieldSelector?: string, options?: { delayFn?: (ms: number) => Promise<unknown> },
  ) {
    this.#path = path;
    this.#watch = watch;
    this.#listFn = listFn;
    this.#labelSelector = labelSelector;
    this.#fieldSelector = fieldSelector;
    this.#delayFn = options?.delayFn ?? sleep;
    if (autoStart) void this.#doneHandler(null);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#reconnectDelayMs = 0;
    this.#hasConnected = false;
    await this.#doneHandler(null);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopRequest();
    return Promise.resolve();
  }

  on(verb: Verb, cb: (obj: T) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  on(verb: Verb, cb: (arg: never) => void): void {
    this.#callbacks[verb].push(cb as (arg: T | unknown) => void);
  }

  latestResourceVersion(): string {
    return this.#resourceVersion;
  }

  #emit(verb: Verb, arg: T | unknown): void {
    for (const cb of this.#callbacks[verb].slice()) cb(arg);
  }

  #stopRequest(): void {
    this.#request?.abort();
    this.#request = undefined;
  }

  async #doneHandler(err: unknown): Promise<void> {
    this.#stopRequest();
    const e = err as { statusCode?: unknown; code?: unknown; name?: unknown } | null;
    if (e && (e.statusCode === 410 || e.code === 410)) this.#resourceVersion = '';
    else if (e && e.name === 'TimeoutError') this.#reconnectDelayMs = 0;
    else if (e) return this.#emit('error', err);
    if (this.#stopped) return;
    this.#emit('connect', undefined);
    if (!this.#resourceVersion) {
      let list: ObjectList<T>;
      try {
        list = await this.#listFn();
      } catch (listErr) {
        return this.#emit('error', listErr);
      }
      this.#deleteMissing(list.items);
      for (const obj of list.items) this.#addOrUpdate(obj);
      this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    }
    const params: Record<string, string> = { resourceVersion: this.#resourceVersion };
    if (this.#labelSelector !== undefined) params.labelSelector = this.#labelSelector;
    if (this.#fieldSelector !== undefined) params.fieldSelector = this.#fieldSelector;
    if (this.#reconnectDelayMs > 0 && this.#hasConnected) await this.#delayFn(this.#reconnectDelayMs);
    if (this.#hasConnected) {
      this.#reconnectDelayMs = Math.min(this.#reconnectDelayMs > 0 ? this.#reconnectDelayMs * 2 : BASE_RECONNECT_DELAY_MS, MAX_RECONNECT_DELAY_MS);
    }
    this.#hasConnected = true;
    this.#request = await this.#watch.watch(this.#path, params, (phase, obj) => this.#onEvent(phase, obj as T & { code?: number }), (doneErr) => {
      void this.#doneHandler(doneErr);
    });
  }

  #onEvent(phase: string, obj: T & { code?: number }): void {
    switch (phase) {
      case 'ERROR':
        if (obj.code === 410) this.#resourceVersion = '';
        return;
      case 'ADDED':
      case 'MODIFIED':
        this.#addOrUpdate(obj);
        break;
      case 'DELETED':
        this.#delete(obj);
        break;
      default:
        break;
    }
    this.#reconnectDelayMs = 0;
    this.#resourceVersion = obj.metadata?.resourceVersion ?? '';
  }

  #deleteMissing(items: T[]): void {
    const listed = new Map<string, Set<string>>();
    for (const obj of items) {
      const ns = obj.metadata?.namespace ?? '';
      let names = listed.get(ns);
      if (!names) listed.set(ns, (names = new Set()));
      names.add(obj.metadata?.name ?? '');
    }
    for (const [ns, objects] of this.#objects) {
      const names = listed.get(ns);
      if (!names) this.#objects.delete(ns);
      for (const [name, old] of objects) {
        if (names?.has(name)) continue;
        objects.delete(name);
        this.#emit('delete', old);
      }
    }
  }

  #addOrUpdate(obj: T): void {
    const ns = obj.metadata?.namespace ?? '';
    let objects = this.#objects.get(ns);
    if (!objects) this.#objects.set(ns, (objects = new Map()));
    const name = obj.metadata?.name ?? '';
    const found = objects.get(name);
    if (!found) {
      objects.set(name, obj);
      this.#emit('add', obj);
      return;
    }
    const rv = found.metadata?.resourceVersion;
    if (rv !== undefined && rv !== null && rv === obj.metadata?.resourceVersion) return;
    objects.set(name, obj);
    this.#emit('update', obj);
  }

  #delete(obj: T): void {
    const ns = obj.metadata?.namespace ?? '';
    const objects = this.#objects.get(ns);
    if (!objects?.delete(obj.metadata?.name ?? '')) return;
    this.#emit('delete', obj);
    if (objects.size === 0) this.#objects.delete(ns);
  }
}
