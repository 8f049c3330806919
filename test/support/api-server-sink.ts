// A ClusterStateSink that records the state it was fed (and can be told to throw), a recording
// Logger, and helpers to compare the sink with the test API server and wait with a deadline.
import type { Logger } from '../../src/model/logger.ts';
import type { ClusterStateSink, KindMap, ObjectKind } from '../../src/sources/types.ts';
import type { KubeObject } from './api-server-store.ts';
import { objectKey } from './api-server-store.ts';

export class RecordingSink implements ClusterStateSink {
  readonly state: Record<ObjectKind, Map<string, unknown>> = { Service: new Map(), EndpointSlice: new Map(), Node: new Map(), ServiceCIDR: new Map() };
  readonly synced_ = new Set<ObjectKind>();
  readonly calls: string[] = [];
  /** Throw from upsert for objects whose key this matches. */
  throwFor: ((kind: ObjectKind, key: string) => boolean) | undefined;

  upsert<K extends ObjectKind>(kind: K, obj: KindMap[K]): void {
    const key = objectKey(obj as KubeObject);
    this.calls.push(`upsert ${kind} ${key}`);
    if (this.throwFor?.(kind, key)) throw new Error(`sink refuses ${kind} ${key}`);
    this.state[kind].set(key, obj);
  }
  remove(kind: ObjectKind, key: string): void {
    this.calls.push(`remove ${kind} ${key}`);
    this.state[kind].delete(key);
  }
  replace<K extends ObjectKind>(kind: K, objs: readonly KindMap[K][]): void {
    this.calls.push(`replace ${kind} ${objs.length}`);
    this.state[kind] = new Map(objs.map((o) => [objectKey(o as KubeObject), o]));
  }
  retain(kind: ObjectKind, keys: ReadonlySet<string>): void {
    this.calls.push(`retain ${kind} ${keys.size}`);
    for (const key of [...this.state[kind].keys()]) if (!keys.has(key)) this.state[kind].delete(key);
  }
  synced(kind: ObjectKind): void {
    this.calls.push(`synced ${kind}`);
    this.synced_.add(kind);
  }

  /** `key@resourceVersion` for each object, sorted: what must equal the server. */
  versions(kind: ObjectKind): string[] {
    return [...this.state[kind].values()].map((o) => {
      const k = o as KubeObject;
      return `${objectKey(k)}@${k.metadata?.resourceVersion ?? ''}`;
    }).sort();
  }
}

export function versionsOf(objs: KubeObject[]): string[] {
  return objs.map((o) => `${objectKey(o)}@${o.metadata?.resourceVersion ?? ''}`).sort();
}

export interface LogRecord { level: string; msg: string; obj: Record<string, unknown> }

export function recordingLogger(records: LogRecord[] = [], bindings: Record<string, unknown> = {}): Logger & { records: LogRecord[] } {
  const fn = (level: string) => (a: object | string, b?: string): void => {
    if (typeof a === 'string') records.push({ level, msg: a, obj: { ...bindings } });
    else records.push({ level, msg: b ?? '', obj: { ...bindings, ...(a as Record<string, unknown>) } });
  };
  return {
    records,
    trace: fn('trace'), debug: fn('debug'), info: fn('info'), warn: fn('warn'), error: fn('error'), fatal: fn('fatal'),
    child: (b) => recordingLogger(records, { ...bindings, ...b }),
  };
}

/** Poll `check` until it returns without throwing, or rethrow its last error after `deadlineMs`. */
export async function eventually(check: () => void, deadlineMs: number, stepMs = 20): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
