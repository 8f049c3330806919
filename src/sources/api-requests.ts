// Every Kubernetes API request the daemon makes, in one list: the API source builds its informers'
// paths from it, and test/deploy-rbac.test.ts checks it against the requests the test API server
// really received and against deploy/clusterrole.yaml, which must grant exactly this (least
// privilege). Adding a request anywhere means adding it here, and the RBAC test then asks for the
// ClusterRole rule.
//
// Narrower than kubeadm's system:node-proxier (core endpoints, nodes get, events create/patch/update):
// we read EndpointSlices only, watch our Node instead of getting it, and create Events
// (events.k8s.io) without ever patching one: the one Event we record (IPVSDeprecation, once per
// start in ipvs mode) is never a series.
import type { ObjectKind } from './types.ts';

/** The verbs of an RBAC rule that our requests need; a list/watch informer needs both. */
export type ApiVerb = 'list' | 'watch' | 'create';

export interface ApiRequest {
  /** The API group; '' is the core group (`/api/v1`). */
  readonly group: string;
  readonly version: string;
  /** The resource (plural) as RBAC and URL paths name it. */
  readonly resource: string;
  readonly verbs: readonly ApiVerb[];
  /** Cluster-wide (all namespaces), narrowed by a selector the API server applies; none for a create or where every object is wanted (ServiceCIDRs). */
  readonly selector: 'label' | 'field' | 'none';
}

/** One informer per kind: kube-proxy's ServiceConfig, EndpointSliceConfig, NodeConfig and ServiceCIDRConfig. */
export const API_REQUESTS: Readonly<Record<ObjectKind, ApiRequest>> = {
  // Label selector SERVICE_LABEL_SELECTOR (types.ts).
  Service: { group: '', version: 'v1', resource: 'services', verbs: ['list', 'watch'], selector: 'label' },
  EndpointSlice: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', verbs: ['list', 'watch'], selector: 'label' },
  // Field selector metadata.name=<this node>: RBAC cannot narrow list/watch by field, so the role
  // grants all nodes, as system:node-proxier does.
  Node: { group: '', version: 'v1', resource: 'nodes', verbs: ['list', 'watch'], selector: 'field' },
  // Every ServiceCIDR (cluster-scoped, few): the ranges ClusterIPs are allocated from, which the
  // nftables mode rejects unallocated addresses of (upstream ServiceCIDRConfig, GA in v1.33).
  ServiceCIDR: { group: 'networking.k8s.io', version: 'v1', resource: 'servicecidrs', verbs: ['list', 'watch'], selector: 'none' },
};

/** The cluster-wide collection path of a request: `/api/v1/services`, `/apis/discovery.k8s.io/v1/endpointslices`. */
export function collectionPath(req: ApiRequest): string {
  const prefix = req.group === '' ? `/api/${req.version}` : `/apis/${req.group}/${req.version}`;
  return `${prefix}/${req.resource}`;
}

/** The Event the daemon records about its Node (sources/node-events.ts), in namespace `default`. */
export const EVENT_REQUEST: ApiRequest = { group: 'events.k8s.io', version: 'v1', resource: 'events', verbs: ['create'], selector: 'none' };

/** Every request, informers and Events: what deploy/clusterrole.yaml must grant, and nothing more. */
export const ALL_API_REQUESTS: readonly ApiRequest[] = [...Object.values(API_REQUESTS), EVENT_REQUEST];
