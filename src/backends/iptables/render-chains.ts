// The rules of one service port's own nat chains (SVC/SVL/EXT/FW/SEP), upstream syncProxyRules'
// per-service-port loop and writeServiceToEndpointRules (pkg/proxy/iptables/proxier.go). They
// are most of a payload (at 10k services × 10 endpoints, ~26 of 31 MB), so they are written
// only while iptables-restore reads the payload (render-assemble.ts), from the memo entry the
// plan made (render-service.ts): nothing here is kept after its chunk has been written.
import type { Endpoint, ServicePort } from '../../model/types.ts';
import type { CategorizedEndpoints } from '../../model/topology.ts';
import { quotedComment } from './comment.ts';
import { joinHostPort } from './chain-names.ts';
import { sepChain, type PortNames } from './name-cache.ts';
import type { RenderOptions } from './options.ts';
import { probability } from './probability.ts';
import { MARK_MASQ, allowFromNode, indicesOf, type PortFacts } from './render-service.ts';

/**
 * Appends the port's chain rules to `out`. `names.eps` is `cat.allReachableEndpoints` (the plan
 * hashed their chains in that order).
 */
export function writeServiceChains(
  opts: RenderOptions,
  largeClusterMode: boolean,
  svc: ServicePort,
  cat: CategorizedEndpoints,
  f: PortFacts,
  names: PortNames,
  out: string[],
): void {
  const { name, n, pm } = f;
  const all = cat.allReachableEndpoints;
  // Made for this write only; the memo keeps hashes and endpoints (name-cache.ts).
  const keys: string[] = new Array<string>(all.length);
  const seps: string[] = new Array<string>(all.length);
  for (let j = 0; j < all.length; j++) {
    const e = all[j] as Endpoint;
    keys[j] = joinHostPort(e.ip, e.port);
    seps[j] = sepChain(names, j);
  }

  // Internal traffic: masquerade off-cluster sources, so replies come back through this node.
  if (f.hasInternalEndpoints) {
    if (opts.masqueradeAll) out.push(`-A ${f.internalTrafficChain} ${f.clusterMatch} -j ${MARK_MASQ}`);
    else if (opts.localDetector !== null) out.push(`-A ${f.internalTrafficChain} ${f.clusterMatch} ${opts.localDetector.ifNotLocal} -j ${MARK_MASQ}`);
  }

  if (f.usesExternalTrafficChain) {
    if (!f.etpLocal) {
      out.push(`-A ${n.ext} -m comment --comment ${quotedComment(`masquerade traffic for ${name} external destinations`)} -j ${MARK_MASQ}`);
    } else {
      // Pod -> external destination is short-circuited to the Cluster chain, simulating a
      // trip out to the load balancer and back in.
      if (opts.localDetector !== null) {
        out.push(`-A ${n.ext} -m comment --comment ${quotedComment(`pod traffic for ${name} external destinations`)} ${opts.localDetector.ifLocal} -j ${n.svc}`);
      }
      // Host-originated traffic needs SNAT: the LB IP is local, so it would be the source.
      out.push(`-A ${n.ext} -m comment --comment ${quotedComment(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${MARK_MASQ}`);
      out.push(`-A ${n.ext} -m comment --comment ${quotedComment(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${n.svc}`);
    }
    if (f.hasExternalEndpoints) out.push(`-A ${n.ext} -j ${f.externalPolicyChain}`);
  }

  if (f.usesFWChain) {
    const head = `-A ${n.fw} -m comment --comment ${quotedComment(`${name} loadbalancer IP`)}`;
    for (const cidr of svc.loadBalancerSourceRanges) out.push(`${head} -s ${cidr} -j ${n.ext}`);
    // A VIP-like LB's address is often local: node -> VIP loops back with the VIP as source.
    if (allowFromNode(svc, opts)) for (const ip of svc.loadBalancerVIPs) out.push(`${head} -s ${ip} -j ${n.ext}`);
    // Falling off the end means not DNATed; filter KUBE-PROXY-FIREWALL drops it.
    out.push(`-A ${n.fw} -m comment --comment ${quotedComment(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`)}`);
  }

  const affinity = svc.sessionAffinity.type === 'ClientIP';
  const policyChain = (chain: string, eps: readonly Endpoint[]): void => {
    const idx = indicesOf(all, eps);
    const lb = (j: number): string => (largeClusterMode ? '' : ` -m comment --comment ${quotedComment(`${name} -> ${keys[j] as string}`)}`);
    if (affinity) {
      const tail = ` --rcheck --seconds ${svc.sessionAffinity.timeoutSeconds} --reap -j `;
      for (const j of idx) {
        const c = seps[j] as string;
        out.push(`-A ${chain}${lb(j)} -m recent --name ${c}${tail}${c}`);
      }
    }
    const count = idx.length;
    for (let k = 0; k < count; k++) {
      const j = idx[k] as number;
      const stat = k < count - 1 ? ` -m statistic --mode random --probability ${probability(count - k)}` : '';
      out.push(`-A ${chain}${lb(j)}${stat} -j ${seps[j] as string}`);
    }
  };
  if (f.usesClusterPolicyChain) policyChain(n.svc, cat.clusterEndpoints);
  if (f.usesLocalPolicyChain) policyChain(n.svl, cat.localEndpoints);

  // Per-endpoint chains: hairpin masquerade, then DNAT.
  const sepComment = largeClusterMode ? '' : ` -m comment --comment ${f.bare}`;
  const dnat = ` ${pm} -j DNAT --to-destination `;
  for (let j = 0; j < all.length; j++) {
    const c = seps[j] as string;
    const head = `-A ${c}${sepComment}`;
    out.push(`${head} -s ${(all[j] as Endpoint).ip} -j ${MARK_MASQ}`);
    out.push(affinity ? `${head} -m recent --name ${c} --set${dnat}${keys[j] as string}` : `${head}${dnat}${keys[j] as string}`);
  }
}
