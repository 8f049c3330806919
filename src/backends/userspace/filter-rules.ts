// The userspace mode's filter rules, in the chains and shapes of upstream's iptables mode
// (pkg/proxy/iptables/proxier.go syncProxyRules): a service port with no endpoints at all gets a
// REJECT for its ClusterIP in filter KUBE-SERVICES (FORWARD, OUTPUT) and for its externalIPs, LB
// IPs and NodePort in KUBE-EXTERNAL-SERVICES (INPUT, FORWARD), and no portal, so the connect is
// refused at once (RST / ICMP port unreachable) instead of being accepted by the daemon and
// closed. Traffic to an LB IP from a source outside loadBalancerSourceRanges gets no portal either
// and is dropped in KUBE-EXTERNAL-SERVICES; upstream drops it in KUBE-PROXY-FIREWALL, a chain the
// ipvs mode writes with other jumps, so the userspace mode keeps to the two chains above. Filter
// sees a redirected packet with its new destination (the daemon's port), so these rules only meet
// traffic that no portal took. Pure.
import type { ServicePort } from '../../model/types.ts';
import { quotedComment } from '../iptables/comment.ts';
import { argsToRestore, requiredJumps, type JumpRule } from '../iptables/jumps.ts';

export const FILTER_SERVICES_CHAIN = 'KUBE-SERVICES';
export const EXTERNAL_SERVICES_CHAIN = 'KUBE-EXTERNAL-SERVICES';
export const USERSPACE_FILTER_CHAINS = [FILTER_SERVICES_CHAIN, EXTERNAL_SERVICES_CHAIN] as const;

/**
 * The built-in jumps into those chains, the very rules the iptables mode inserts (so a node moving
 * between the two modes keeps one copy of each), in upstream's order.
 */
export const FILTER_JUMPS: readonly JumpRule[] = requiredJumps().filter(
  (j) => j.table === 'filter' && (USERSPACE_FILTER_CHAINS as readonly string[]).includes(j.target),
);

/** A jump's restore arguments without its `-j TARGET` tail (portal-rules.ts Jump.spec). */
export function jumpSpec(j: JumpRule): string {
  const args = j.args.slice(0, -2);
  return argsToRestore(args);
}

export interface FilterPortal {
  readonly service: ServicePort;
  /** The service port has endpoints somewhere (upstream CategorizeEndpoints hasAnyEndpoints). */
  readonly hasEndpoints: boolean;
}

export interface FilterRules {
  readonly services: readonly string[];
  readonly external: readonly string[];
}

/** The filter rules for `portals`, in the order they are given. */
export function renderFilterRules(portals: readonly FilterPortal[]): FilterRules {
  const services: string[] = [];
  const external: string[] = [];
  for (const { service: s, hasEndpoints } of portals) {
    const proto = s.protocol.toLowerCase();
    const pm = `-m ${proto} -p ${proto}`;
    if (!hasEndpoints) {
      const comment = `-m comment --comment ${quotedComment(`${s.name} has no endpoints`)}`;
      if (s.clusterIP !== '' && s.clusterIP !== 'None') {
        services.push(`-A ${FILTER_SERVICES_CHAIN} ${comment} ${pm} -d ${s.clusterIP} --dport ${s.port} -j REJECT`);
      }
      for (const ip of [...s.externalIPs, ...s.loadBalancerVIPs]) {
        external.push(`-A ${EXTERNAL_SERVICES_CHAIN} ${comment} ${pm} -d ${ip} --dport ${s.port} -j REJECT`);
      }
      if (s.nodePort !== 0) {
        external.push(`-A ${EXTERNAL_SERVICES_CHAIN} ${comment} -m addrtype --dst-type LOCAL ${pm} --dport ${s.nodePort} -j REJECT`);
      }
      continue;
    }
    if (s.loadBalancerSourceRanges.length === 0) continue;
    const comment = `-m comment --comment ${quotedComment(`${s.name} traffic not accepted by loadBalancerSourceRanges`)}`;
    for (const ip of s.loadBalancerVIPs) {
      external.push(`-A ${EXTERNAL_SERVICES_CHAIN} ${comment} ${pm} -d ${ip} --dport ${s.port} -j DROP`);
    }
  }
  return { services, external };
}
