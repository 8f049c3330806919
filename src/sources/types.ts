// What a cluster-state source (API-server informers or the manifests directory) feeds: raw
// Kubernetes objects, already filtered by kube-proxy's label selectors. The model parses them.
import type { V1EndpointSlice, V1Node, V1Service, V1ServiceCIDR } from '@kubernetes/client-node';

export type ObjectKind = 'Service' | 'EndpointSlice' | 'Node' | 'ServiceCIDR';

export interface KindMap {
  Service: V1Service;
  EndpointSlice: V1EndpointSlice;
  Node: V1Node;
  ServiceCIDR: V1ServiceCIDR;
}

/**
 * Receives every add/update/delete. Handlers must be cheap (record, poke the runner) and must not
 * throw; `replace` is called after a (re)list with the complete set, so deletions missed while a
 * watch was down are seen. `synced` marks that a kind's initial list has been delivered.
 */
export interface ClusterStateSink {
  upsert<K extends ObjectKind>(kind: K, obj: KindMap[K]): void;
  /** `key` is `namespace/name` (or `name` for the cluster-scoped Nodes and ServiceCIDRs). */
  remove(kind: ObjectKind, key: string): void;
  replace<K extends ObjectKind>(kind: K, objs: readonly KindMap[K][]): void;
  /**
   * The end of a list delivered page by page with `upsert`: remove every object of the kind whose
   * key is not in `keys` (what `replace` does, without the whole list in memory at once). Sources
   * fall back to `replace` for a sink without it.
   */
  retain?(kind: ObjectKind, keys: ReadonlySet<string>): void;
  synced(kind: ObjectKind): void;
}

/** A running source; `stop` ends its watches. */
export interface ClusterSource {
  start(sink: ClusterStateSink): Promise<void>;
  stop(): Promise<void>;
}

/** kube-proxy's informer label selector (cmd/kube-proxy/app/server.go). */
export const SERVICE_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';
