// The state behind the test API server: objects per kind, one resourceVersion counter (like
// etcd's revision), and a bounded event history that watches resume from. Kept apart from the
// HTTP layer so the protocol rules (selectors, 410, selector-transition events) are easy to read.
import { randomUUID } from 'node:crypto';

export type Kind = 'Service' | 'EndpointSlice' | 'Node' | 'ServiceCIDR';
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string | Date;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface HistoryEvent {
  rv: number;
  kind: Kind;
  type: EventType;
  obj: KubeObject;
  /** The previous version, for MODIFIED: a selector may stop or start matching. */
  old?: KubeObject;
}

export const TYPE_META: Record<Kind, { apiVersion: string; kind: string }> = {
  Service: { apiVersion: 'v1', kind: 'Service' },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  Node: { apiVersion: 'v1', kind: 'Node' },
  ServiceCIDR: { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR' },
};

export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('test api server: object without metadata.name');
  return obj.metadata?.namespace ? `${obj.metadata.namespace}/${name}` : name;
}

/** A selector term list: `key`, `!key`, `key=value`, `key==value`, `key!=value`. */
export type Selector = (labels: Record<string, string>) => boolean;

export function parseLabelSelector(text: string | null): Selector {
  const terms = (text ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const preds = terms.map((term): Selector => {
    const ne = term.indexOf('!=');
    if (ne > 0) {
      const key = term.slice(0, ne);
      const value = term.slice(ne + 2);
      return (l) => l[key] !== value;
    }
    const eq = term.indexOf('=');
    if (eq > 0) {
      const key = term.slice(0, eq);
      const value = term.slice(term[eq + 1] === '=' ? eq + 2 : eq + 1);
      return (l) => l[key] === value;
    }
    if (term.startsWith('!')) {
      const key = term.slice(1);
      return (l) => !(key in l);
    }
    return (l) => term in l;
  });
  return (labels) => preds.every((p) => p(labels));
}

/** Only `metadata.name=X` and `metadata.namespace=X` (what kube-proxy and the tests use). */
export function parseFieldSelector(text: string | null): (obj: KubeObject) => boolean {
  const terms = (text ?? '').split(',').filter((t) => t !== '');
  const preds = terms.map((term) => {
    const [field, value] = term.split('=');
    if (field === 'metadata.name') return (o: KubeObject) => o.metadata?.name === value;
    if (field === 'metadata.namespace') return (o: KubeObject) => o.metadata?.namespace === value;
    throw new Error(`unsupported field selector ${term}`);
  });
  return (obj) => preds.every((p) => p(obj));
}

interface Snapshot {
  rv: number;
  objects: Map<Kind, Map<string, KubeObject>>;
}

export class Store {
  rv = 1;
  /** Events at or below this RV are gone: a watch from an older RV gets 410. */
  compactedRv = 1;
  readonly history: HistoryEvent[] = [];
  objects = new Map<Kind, Map<string, KubeObject>>([
    ['Service', new Map()],
    ['EndpointSlice', new Map()],
    ['Node', new Map()],
    ['ServiceCIDR', new Map()],
  ]);
  private backupSnapshot: Snapshot | undefined;
  private readonly maxHistory: number;
  private readonly onEvent: (ev: HistoryEvent) => void;

  constructor(maxHistory: number, onEvent: (ev: HistoryEvent) => void) {
    this.maxHistory = maxHistory;
    this.onEvent = onEvent;
  }

  private map(kind: Kind): Map<string, KubeObject> {
    const m = this.objects.get(kind);
    if (!m) throw new Error(`unknown kind ${kind}`);
    return m;
  }

  list(kind: Kind): KubeObject[] {
    return [...this.map(kind).values()];
  }

  get(kind: Kind, key: string): KubeObject | undefined {
    return this.map(kind).get(key);
  }

  write(kind: Kind, type: EventType, input: KubeObject): KubeObject {
    const key = objectKey(input);
    const m = this.map(kind);
    const old = m.get(key);
    if (type === 'ADDED' && old) throw new Error(`test api server: ${kind} ${key} already exists`);
    if (type !== 'ADDED' && !old) throw new Error(`test api server: ${kind} ${key} not found`);
    this.rv++;
    const obj: KubeObject = structuredClone(type === 'DELETED' ? (old as KubeObject) : input);
    obj.apiVersion = TYPE_META[kind].apiVersion;
    obj.kind = TYPE_META[kind].kind;
    obj.metadata = {
      ...obj.metadata,
      uid: old?.metadata?.uid ?? randomUUID(),
      creationTimestamp: old?.metadata?.creationTimestamp ?? new Date().toISOString(),
      resourceVersion: String(this.rv),
    };
    if (type === 'DELETED') m.delete(key);
    else m.set(key, obj);
    const ev: HistoryEvent = { rv: this.rv, kind, type, obj, ...(type === 'MODIFIED' && old ? { old } : {}) };
    this.history.push(ev);
    while (this.history.length > this.maxHistory) {
      const dropped = this.history.shift() as HistoryEvent;
      this.compactedRv = dropped.rv;
    }
    this.onEvent(ev);
    return structuredClone(obj);
  }

  /** Drop all history and bump the RV, so every watcher's RV is now too old. */
  compact(): void {
    this.rv++;
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  backup(): void {
    this.backupSnapshot = { rv: this.rv, objects: structuredClone(this.objects) };
  }

  /** Back to the last backup: the RV counter goes backwards, as after an etcd restore without --bump-revision. */
  restore(): void {
    const snap = this.backupSnapshot;
    if (!snap) throw new Error('test api server: restoreFromBackup without backup()');
    this.objects = structuredClone(snap.objects);
    this.rv = snap.rv;
    this.compactedRv = snap.rv;
    this.history.length = 0;
  }
}
