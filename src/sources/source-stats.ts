// Counters the metrics code reads (watch restarts, relists, events, handler errors, last activity),
// and the small pure helpers the API source shares: backoff, object keys, wire normalisation.
import type { KindMap, ObjectKind } from './types.ts';

export interface KindStats {
  /** Informer restarts after an error, a stall or a periodic relist. */
  restarts: number;
  /** Full lists (initial, after 410, after a restart). */
  lists: number;
  /** add/update/delete events delivered from watches. */
  events: number;
  /** Sink handlers that threw (caught, logged). */
  handlerErrors: number;
  /** Restarts caused by the stall watchdog. */
  stalls: number;
  /** Epoch ms of the last event, bookmark, list or reconnect; 0 before the first. */
  lastActivityMs: number;
}

export type SourceStats = Record<ObjectKind, KindStats>;

export function newSourceStats(): SourceStats {
  const one = (): KindStats => ({ restarts: 0, lists: 0, events: 0, handlerErrors: 0, stalls: 0, lastActivityMs: 0 });
  return { Service: one(), EndpointSlice: one(), Node: one(), ServiceCIDR: one() };
}

/**
 * Delay before restart number `failures` (0-based): initial * 2^failures capped at max, then
 * "equal jitter" (half fixed, half random) so restarts of many nodes spread out but never hit 0.
 */
export function backoffDelay(failures: number, initialMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30));
  return Math.round(base / 2 + (base / 2) * random());
}

interface Meta { metadata?: { name?: string; namespace?: string } }

/** `namespace/name`, or `name` for cluster-scoped objects (Nodes, ServiceCIDRs): the ClusterStateSink key. */
export function objectKeyOf(obj: Meta): string {
  const name = obj.metadata?.name ?? '';
  return obj.metadata?.namespace ? `${obj.metadata.namespace}/${name}` : name;
}

const TYPE_META: Record<ObjectKind, { apiVersion: string; kind: string }> = {
  Service: { apiVersion: 'v1', kind: 'Service' },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  Node: { apiVersion: 'v1', kind: 'Node' },
  ServiceCIDR: { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR' },
};

/**
 * One shape for every object the sink sees, whichever path it came by: list items (raw JSON, no
 * kind/apiVersion), watch events and manifests are all wire JSON; only the type meta is set here
 * (a shallow copy: no deep copy of 10k objects).
 */
export function withTypeMeta<K extends ObjectKind>(kind: K, obj: KindMap[K]): KindMap[K] {
  return { ...obj, ...TYPE_META[kind] };
}
