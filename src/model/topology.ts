// Endpoint selection for one service port on this node: a port of upstream
// pkg/proxy/topology.go CategorizeEndpoints (the hints-based version, where the EndpointSlice
// controller turns trafficDistribution / topology-mode into hints and kube-proxy only reads them).
// Every proxy mode calls this, so all modes choose the same endpoints.
import { endpointString } from './endpoint.ts';
import type { Endpoint, NodeInfo, ServicePort } from './types.ts';

export interface CategorizedEndpoints {
  /**
   * Usable endpoints for Cluster traffic policy, topology applied. Empty when the port never uses
   * Cluster policy (upstream returns nil then; `usesClusterEndpoints` tells the two apart).
   */
  readonly clusterEndpoints: readonly Endpoint[];
  /** Usable local endpoints for Local policy; empty when the port never uses Local policy. */
  readonly localEndpoints: readonly Endpoint[];
  /** Union of the two, in input order. */
  readonly allReachableEndpoints: readonly Endpoint[];
  /** Whether any endpoint is usable anywhere in the cluster (may be true when none is reachable here). */
  readonly hasAnyEndpoints: boolean;
}

type PolicyView = Pick<ServicePort, 'nodePort' | 'externalIPs' | 'loadBalancerVIPs' | 'externalPolicyLocal' | 'internalPolicyLocal'>;
type NodeView = Pick<NodeInfo, 'name' | 'zone'>;
type TopologyMode = '' | 'PreferSameZone' | 'PreferSameNode';

/** Reachable by something other than the ClusterIP (upstream ExternallyAccessible). */
export function externallyAccessible(svc: PolicyView): boolean {
  return svc.nodePort !== 0 || svc.loadBalancerVIPs.length !== 0 || svc.externalIPs.length !== 0;
}

/** Cluster endpoints are needed even with eTP Local, for short-circuiting (upstream UsesClusterEndpoints). */
export function usesClusterEndpoints(svc: PolicyView): boolean {
  return !svc.internalPolicyLocal || externallyAccessible(svc);
}

export function usesLocalEndpoints(svc: PolicyView): boolean {
  return svc.internalPolicyLocal || (svc.externalPolicyLocal && externallyAccessible(svc));
}

const isServingTerminating = (ep: Endpoint): boolean => ep.serving && ep.terminating;
const EMPTY: readonly Endpoint[] = Object.freeze([]);

export function categorizeEndpoints(endpoints: readonly Endpoint[], svc: PolicyView, node: NodeView): CategorizedEndpoints {
  if (endpoints.length === 0) {
    return { clusterEndpoints: EMPTY, localEndpoints: EMPTY, allReachableEndpoints: EMPTY, hasAnyEndpoints: false };
  }
  let clusterEndpoints: readonly Endpoint[] = EMPTY;
  let localEndpoints: readonly Endpoint[] = EMPTY;
  let hasAnyEndpoints = false;
  let topologyMode: TopologyMode = '';
  const useCluster = usesClusterEndpoints(svc);

  if (useCluster) {
    topologyMode = topologyModeFromHints(endpoints, node.name, node.zone);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, topologyMode, node));
    // No ready endpoint anywhere (topology already fell back when none was ready for this
    // zone/node): try serving-terminating ones so connections drain instead of being dropped.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter(isServingTerminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }

  if (!usesLocalEndpoints(svc)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (isServingTerminating(ep)) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  let useServingTerminating = false;
  if (hasLocalReady) {
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  } else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && isServingTerminating(ep));
  }

  if (!useCluster) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  }
  if (topologyMode === '' && !useServingTerminating) {
    // clusterEndpoints holds every ready endpoint and localEndpoints only ready ones: a superset.
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }
  const chosen = new Set<string>();
  for (const ep of clusterEndpoints) chosen.add(endpointString(ep));
  for (const ep of localEndpoints) chosen.add(endpointString(ep));
  // Input order rather than Go's map order, so the result is deterministic.
  const seen = new Set<string>();
  const allReachableEndpoints = endpoints.filter((ep) => {
    const k = endpointString(ep);
    if (!chosen.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints };
}

/**
 * Upstream topologyModeFromHints: all-or-nothing. Node hints win when every ready endpoint has one
 * and one names this node; otherwise zone hints when every ready endpoint has one and one names
 * this node's zone; otherwise no topology. (PreferSameTrafficDistribution is taken as enabled.)
 */
export function topologyModeFromHints(endpoints: readonly Endpoint[], nodeName: string, zone: string): TopologyMode {
  let hasReady = false;
  let allNodeHints = true;
  let forNode = false;
  let allZoneHints = true;
  let forZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    hasReady = true;
    if (ep.nodeHints === undefined || ep.nodeHints.length === 0) allNodeHints = false;
    else if (ep.nodeHints.includes(nodeName)) forNode = true;
    if (ep.zoneHints === undefined || ep.zoneHints.length === 0) allZoneHints = false;
    else if (ep.zoneHints.includes(zone)) forZone = true;
  }
  if (!hasReady) return '';
  if (allNodeHints && forNode) return 'PreferSameNode';
  if (allZoneHints && forZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: Endpoint, mode: TopologyMode, node: NodeView): boolean {
  switch (mode) {
    case '':
      return true;
    case 'PreferSameNode':
      return ep.nodeHints?.includes(node.name) ?? false;
    case 'PreferSameZone':
      return ep.zoneHints?.includes(node.zone) ?? false;
  }
}
