// The model's ClusterStateSink: parses each object from a source once per change and feeds each
// family's FamilyTracker. Of the raw objects only keys and resourceVersions are kept (enough to
// skip a resent object and to find deletions on a relist): the parsed model is what syncs need,
// and holding 20k raw Services and EndpointSlices as well cost ~50 MiB at 10k Services. Sources call it; the sync runner takes
// snapshot(family) → proxier.sync → commit(snapshot). Pure and synchronous, like upstream's
// change trackers; the shell injects the clock and the invalid-object reporter.
import type { V1EndpointSlice, V1Node, V1Service, V1ServiceCIDR } from '@kubernetes/client-node';
import type { ObjectError } from '../errors.ts';
import type { ClusterStateSink, KindMap, ObjectKind } from '../sources/types.ts';
import { deepEqual } from './deep-equal.ts';
import { EndpointSliceCache, parseEndpointSlice } from './endpoint-slice-cache.ts';
import { FamilyTracker, type StateSnapshot } from './family-tracker.ts';
import { Interner } from './interner.ts';
import { defaultNode, parseNode } from './node-parse.ts';
import type { ParsedCIDR } from './ip.ts';
import { parseServiceCIDR } from './service-cidr-parse.ts';
import { parseService } from './service-parse.ts';
import type { IPFamily, NamespacedName, NodeInfo, ServicePort, ServicePortName } from './types.ts';

export type { StateSnapshot } from './family-tracker.ts';

export interface ClusterStateOptions {
  /** This node's name: endpoints on it are local, and only this Node object is kept. */
  readonly nodeName: string;
  readonly families: readonly IPFamily[];
  /** Whether isSynced waits for the Node kind (false in manifests mode, which may have no Node). */
  readonly requireNode: boolean;
  /** Reports an invalid object or part; called synchronously, must not throw. */
  readonly onInvalid?: (err: ObjectError) => void;
  /** Wall clock in ms (injected; defaults to Date.now). */
  readonly now?: () => number;
}

export class ClusterState implements ClusterStateSink {
  readonly #opts: ClusterStateOptions;
  readonly #now: () => number;
  readonly #trackers = new Map<IPFamily, FamilyTracker>();
  /** resourceVersion ('' when none) of the latest object per key, by kind. */
  readonly #services = new Map<NamespacedName, string>();
  readonly #slices = new Map<string, string>();
  /** Our Node's resourceVersion; undefined while we have no Node object. */
  #nodeVersion: string | undefined;
  #node: NodeInfo;
  /** Each ServiceCIDR's resourceVersion and parsed ranges (none when it did not parse), by name. */
  readonly #serviceCIDRs = new Map<string, { readonly version: string; readonly cidrs: readonly ParsedCIDR[] }>();
  readonly #sliceCache = new EndpointSliceCache();
  /** Node and zone names, one copy each for all endpoints. */
  readonly #names = new Interner();
  /** Service ports each Service contributed, per family, to delete them when it changes. */
  readonly #portsOf = new Map<NamespacedName, PortsByFamily>();
  /** Endpoint port names each service has, per family. */
  readonly #endpointPortsOf = new Map<NamespacedName, PortsByFamily>();
  readonly #synced = new Set<ObjectKind>();
  readonly #listeners = new Set<() => void>();
  #seq = 0;
  #serviceChangesTotal = 0;
  #endpointChangesTotal = 0;

  constructor(opts: ClusterStateOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#node = defaultNode(opts.nodeName);
    for (const f of opts.families) this.#trackers.set(f, new FamilyTracker(f));
  }

  /** Subscribe to effective changes; returns the unsubscribe function. */
  onChange(cb: () => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  upsert<K extends ObjectKind>(kind: K, obj: KindMap[K]): void {
    if (this.#upsert(kind, obj)) this.#fire();
  }

  remove(kind: ObjectKind, key: string): void {
    if (this.#remove(kind, key)) this.#fire();
  }

  replace<K extends ObjectKind>(kind: K, objs: readonly KindMap[K][]): void {
    const keep = new Set(objs.map((o) => keyOf(kind, o)));
    let changed = false;
    for (const key of this.#keys(kind)) if (!keep.has(key)) changed = this.#remove(kind, key) || changed;
    for (const o of objs) changed = this.#upsert(kind, o) || changed;
    if (changed) this.#fire();
  }

  retain(kind: ObjectKind, keys: ReadonlySet<string>): void {
    let changed = false;
    for (const key of this.#keys(kind)) if (!keys.has(key)) changed = this.#remove(kind, key) || changed;
    if (changed) this.#fire();
  }

  /** Fires onChange the first time each kind syncs: becoming synced lets the runner start. */
  synced(kind: ObjectKind): void {
    if (this.#synced.has(kind)) return;
    this.#synced.add(kind);
    this.#fire();
  }

  /** Services, EndpointSlices and (when required) the Node have had their initial list. */
  isSynced(): boolean {
    return this.#synced.has('Service') && this.#synced.has('EndpointSlice') && (!this.#opts.requireNode || this.#synced.has('Node'));
  }

  get node(): NodeInfo {
    return this.#node;
  }

  /** Keys of the objects held, `ns/name` (Nodes by name); for debugging and tests. */
  keys(kind: ObjectKind): string[] {
    return this.#keys(kind);
  }

  snapshot(family: IPFamily, opts: { full?: boolean } = {}): StateSnapshot {
    return this.#tracker(family).snapshot(this.#seq, this.#node, opts.full ?? false);
  }

  commit(snapshot: StateSnapshot): void {
    this.#tracker(snapshot.family).commit(snapshot);
  }

  /** Distinct Services with pending changes in any family (kubeproxy_sync_proxy_rules_service_changes_pending). */
  get pendingServiceChanges(): number {
    return this.#pendingNames((t) => t.pendingServices);
  }

  /** Distinct Services with pending endpoint changes (..._endpoint_changes_pending). */
  get pendingEndpointChanges(): number {
    return this.#pendingNames((t) => t.pendingEndpoints);
  }

  /** Service add/update/delete events received (..._service_changes_total, counted as upstream). */
  get serviceChangesTotal(): number {
    return this.#serviceChangesTotal;
  }

  get endpointChangesTotal(): number {
    return this.#endpointChangesTotal;
  }

  /** When the oldest change not yet synced was seen (ms), in any family or the given one. */
  oldestPendingChange(family?: IPFamily): number | undefined {
    let oldest: number | undefined;
    for (const t of this.#trackers.values()) {
      if (family !== undefined && t.family !== family) continue;
      const o = t.oldestPending();
      if (o !== undefined && (oldest === undefined || o < oldest)) oldest = o;
    }
    return oldest;
  }

  #tracker(family: IPFamily): FamilyTracker {
    const t = this.#trackers.get(family);
    if (t === undefined) throw new RangeError(`ClusterState does not track ${family}`);
    return t;
  }

  #pendingNames(pick: (t: FamilyTracker) => ReadonlySet<ServicePortName>): number {
    const names = new Set<string>();
    for (const t of this.#trackers.values()) for (const spn of pick(t)) names.add(serviceOf(spn));
    return names.size;
  }

  #fire(): void {
    for (const cb of this.#listeners) cb();
  }

  #report(errors: readonly ObjectError[]): void {
    for (const e of errors) this.#opts.onInvalid?.(e);
  }

  #keys(kind: ObjectKind): string[] {
    if (kind === 'Service') return [...this.#services.keys()];
    if (kind === 'EndpointSlice') return [...this.#slices.keys()];
    if (kind === 'ServiceCIDR') return [...this.#serviceCIDRs.keys()];
    return this.#nodeVersion !== undefined ? [this.#opts.nodeName] : [];
  }

  #upsert(kind: ObjectKind, obj: KindMap[ObjectKind]): boolean {
    if (kind === 'Service') return this.#upsertService(obj as V1Service);
    if (kind === 'EndpointSlice') return this.#upsertSlice(obj as V1EndpointSlice);
    if (kind === 'ServiceCIDR') return this.#upsertServiceCIDR(obj as V1ServiceCIDR);
    return this.#upsertNode(obj as V1Node);
  }

  #remove(kind: ObjectKind, key: string): boolean {
    if (kind === 'Service') {
      this.#serviceChangesTotal++;
      if (!this.#services.delete(key)) return false;
      return this.#applyServicePorts(key, new Map());
    }
    if (kind === 'EndpointSlice') {
      this.#endpointChangesTotal++;
      if (!this.#slices.delete(key)) return false;
      return this.#refreshEndpoints(this.#sliceCache.delete(key), undefined);
    }
    if (kind === 'ServiceCIDR') return this.#serviceCIDRs.delete(key) && this.#applyServiceCIDRs();
    if (key !== this.#opts.nodeName || this.#nodeVersion === undefined) return false;
    this.#nodeVersion = undefined;
    return this.#setNode(defaultNode(this.#opts.nodeName));
  }

  #upsertService(svc: V1Service): boolean {
    this.#serviceChangesTotal++;
    const key = keyOf('Service', svc);
    if (sameVersion(this.#services.get(key), svc)) return false;
    this.#services.set(key, versionOf(svc));
    const parsed = parseService(svc, this.#opts.families);
    this.#report(parsed.errors);
    return this.#applyServicePorts(key, parsed.ports);
  }

  #applyServicePorts(key: NamespacedName, ports: ReadonlyMap<IPFamily, readonly ServicePort[]>): boolean {
    const seq = ++this.#seq;
    const now = this.#now();
    const before = this.#portsOf.get(key);
    const after: PortsByFamily = {};
    let changed = false;
    for (const t of this.#trackers.values()) {
      const list = ports.get(t.family) ?? [];
      const names = list.map((p) => p.name);
      if (names.length > 0) after[t.family] = names;
      for (const p of list) changed = t.setService(p.name, p, seq, now) || changed;
      for (const old of before?.[t.family] ?? []) if (!names.includes(old)) changed = t.setService(old, undefined, seq, now) || changed;
    }
    if (hasPorts(after)) this.#portsOf.set(key, after);
    else this.#portsOf.delete(key);
    return changed;
  }

  #upsertSlice(es: V1EndpointSlice): boolean {
    this.#endpointChangesTotal++;
    const key = keyOf('EndpointSlice', es);
    if (sameVersion(this.#slices.get(key), es)) return false;
    this.#slices.set(key, versionOf(es));
    const parsed = parseEndpointSlice(es, this.#opts.nodeName, (x) => this.#names.intern(x));
    this.#report(parsed.errors);
    // A slice that no longer parses stops contributing (its old endpoints go too).
    const affected = parsed.slice === undefined ? this.#sliceCache.delete(key) : this.#sliceCache.set(parsed.slice);
    return this.#refreshEndpoints(affected, parsed.slice?.triggerTime);
  }

  #refreshEndpoints(services: readonly NamespacedName[], trigger: number | undefined): boolean {
    const seq = ++this.#seq;
    const now = this.#now();
    let changed = false;
    for (const svc of services) {
      const before = this.#endpointPortsOf.get(svc);
      const after: PortsByFamily = {};
      for (const t of this.#trackers.values()) {
        const merged = this.#sliceCache.endpoints(svc, t.family);
        const names = [...merged.keys()];
        if (names.length > 0) after[t.family] = names;
        for (const [spn, eps] of merged) changed = t.setEndpoints(spn, eps, seq, now, trigger ?? now) || changed;
        for (const old of before?.[t.family] ?? []) if (!merged.has(old)) changed = t.setEndpoints(old, [], seq, now, trigger ?? now) || changed;
      }
      if (hasPorts(after)) this.#endpointPortsOf.set(svc, after);
      else this.#endpointPortsOf.delete(svc);
    }
    return changed;
  }

  #upsertServiceCIDR(obj: V1ServiceCIDR): boolean {
    const key = keyOf('ServiceCIDR', obj);
    if (sameVersion(this.#serviceCIDRs.get(key)?.version, obj)) return false;
    const parsed = parseServiceCIDR(obj);
    this.#report(parsed.errors);
    this.#serviceCIDRs.set(key, { version: versionOf(obj), cidrs: parsed.cidrs });
    return this.#applyServiceCIDRs();
  }

  /** Every ServiceCIDR's ranges, per family (upstream ServiceCIDRConfig hands over the union). */
  #applyServiceCIDRs(): boolean {
    const seq = ++this.#seq;
    const now = this.#now();
    let changed = false;
    for (const t of this.#trackers.values()) {
      const cidrs = new Set<string>();
      for (const o of this.#serviceCIDRs.values()) for (const c of o.cidrs) if (c.family === t.family) cidrs.add(c.cidr);
      changed = t.setServiceCIDRs([...cidrs].sort(), seq, now) || changed;
    }
    return changed;
  }

  #upsertNode(node: V1Node): boolean {
    // Sources may hand over other nodes (a relist of all Nodes); only ours matters.
    if (node.metadata?.name !== this.#opts.nodeName) return false;
    if (sameVersion(this.#nodeVersion, node)) return false;
    this.#nodeVersion = versionOf(node);
    const parsed = parseNode(node);
    this.#report(parsed.errors);
    return this.#setNode(parsed.node);
  }

  #setNode(info: NodeInfo): boolean {
    if (deepEqual(this.#node, info)) return false;
    this.#node = info;
    const seq = ++this.#seq;
    const now = this.#now();
    for (const t of this.#trackers.values()) t.markNode(seq, now);
    return true;
  }
}

/**
 * Port names per family, as a plain object: a Map per Service (two per Service here) cost ~300
 * bytes each, ~6 MiB at 10k Services.
 */
type PortsByFamily = { [F in IPFamily]?: ServicePortName[] };

const hasPorts = (p: PortsByFamily): boolean => p.IPv4 !== undefined || p.IPv6 !== undefined;

function keyOf(kind: ObjectKind, obj: { metadata?: { namespace?: string; name?: string } }): string {
  const name = obj.metadata?.name ?? '';
  return kind === 'Node' || kind === 'ServiceCIDR' ? name : `${obj.metadata?.namespace ?? ''}/${name}`;
}

interface Versioned { metadata?: { resourceVersion?: string } }

function versionOf(obj: Versioned): string {
  return obj.metadata?.resourceVersion ?? '';
}

/** Same resourceVersion: the informer resent an object it already delivered (resync, relist). */
function sameVersion(prev: string | undefined, next: Versioned): boolean {
  return prev !== undefined && prev !== '' && prev === next.metadata?.resourceVersion;
}

/** `ns/name:port` → `ns/name` (port names cannot contain ':'). */
function serviceOf(spn: ServicePortName): string {
  const i = spn.indexOf(':');
  return i < 0 ? spn : spn.slice(0, i);
}
