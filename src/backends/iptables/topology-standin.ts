// TEMPORARY stand-in for src/model/topology.ts (another helper is writing it): the same
// signature, upstream pkg/proxy/topology.go CategorizeEndpoints without topology hints.
// Delete this file and import from ../../model/topology.ts once that lands.
import type { Endpoint, NodeInfo, ServicePort } from '../../model/types.ts';

export interface CategorizedEndpoints {
  readonly clusterEndpoints: readonly Endpoint[];
  readonly localEndpoints: readonly Endpoint[];
  readonly allReachableEndpoints: readonly Endpoint[];
  readonly hasAnyEndpoints: boolean;
}

function externallyAccessible(svc: ServicePort): boolean {
  return svc.nodePort !== 0 || svc.loadBalancerVIPs.length > 0 || svc.externalIPs.length > 0;
}

export function categorizeEndpoints(
  endpoints: readonly Endpoint[],
  svc: ServicePort,
  _node: NodeInfo,
): CategorizedEndpoints {
  const ext = externallyAccessible(svc);
  const usesCluster = !svc.internalPolicyLocal || ext;
  const usesLocal = svc.internalPolicyLocal || (ext && svc.externalPolicyLocal);
  let cluster: Endpoint[] = [];
  let hasAny = false;
  if (usesCluster) {
    cluster = endpoints.filter((e) => e.ready);
    if (cluster.length === 0) cluster = endpoints.filter((e) => e.serving && e.terminating);
    hasAny = cluster.length > 0;
  }
  if (!usesLocal) return { clusterEndpoints: cluster, localEndpoints: [], allReachableEndpoints: cluster, hasAnyEndpoints: hasAny };
  for (const e of endpoints) if (e.ready || (e.serving && e.terminating)) hasAny = true;
  let local = endpoints.filter((e) => e.isLocal && e.ready);
  if (local.length === 0) local = endpoints.filter((e) => e.isLocal && e.serving && e.terminating);
  if (!usesCluster) return { clusterEndpoints: [], localEndpoints: local, allReachableEndpoints: local, hasAnyEndpoints: hasAny };
  const all = new Set<Endpoint>([...cluster, ...local]);
  return { clusterEndpoints: cluster, localEndpoints: local, allReachableEndpoints: [...all], hasAnyEndpoints: hasAny };
}
