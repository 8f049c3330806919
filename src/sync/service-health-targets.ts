// What the per-service health-check servers need from a synced state: which services have a
// healthCheckNodePort (externalTrafficPolicy: Local LoadBalancers) and how many ready endpoints
// each has on this node. Upstream computes the same from svcPortMap.HealthCheckNodePorts() and
// endpointsMap.LocalReadyEndpoints() after a successful restore (pkg/proxy/iptables/proxier.go).
import type { NamespacedName, ProxyState } from '../model/types.ts';

export interface ServiceHealthTargets {
  /** ns/name → healthCheckNodePort. */
  readonly services: ReadonlyMap<NamespacedName, number>;
  /** ns/name → local ready endpoints (distinct IPs across the service's ports). */
  readonly endpoints: ReadonlyMap<NamespacedName, number>;
}

/** Merge the targets of several families: a port is per Service; a count takes the largest family. */
export function serviceHealthTargets(states: readonly ProxyState[]): ServiceHealthTargets {
  const services = new Map<NamespacedName, number>();
  const endpoints = new Map<NamespacedName, number>();
  for (const state of states) {
    const localIPs = new Map<NamespacedName, Set<string>>();
    for (const [portName, port] of state.services) {
      if (port.healthCheckNodePort <= 0) continue;
      const key = `${port.namespace}/${port.serviceName}`;
      services.set(key, port.healthCheckNodePort);
      const ips = localIPs.get(key) ?? new Set<string>();
      localIPs.set(key, ips);
      for (const ep of state.endpoints.get(portName) ?? []) {
        if (ep.isLocal && ep.ready) ips.add(ep.ip);
      }
    }
    for (const [key, ips] of localIPs) endpoints.set(key, Math.max(endpoints.get(key) ?? 0, ips.size));
  }
  return { services, endpoints };
}

/** Union of per-family targets (so one failing family does not close another's listeners). */
export function mergeTargets(targets: Iterable<ServiceHealthTargets>): ServiceHealthTargets {
  const services = new Map<NamespacedName, number>();
  const endpoints = new Map<NamespacedName, number>();
  for (const t of targets) {
    for (const [k, v] of t.services) services.set(k, v);
    for (const [k, v] of t.endpoints) endpoints.set(k, Math.max(endpoints.get(k) ?? 0, v));
  }
  return { services, endpoints };
}
