// Rules for one service port, in upstream syncProxyRules' order (pkg/proxy/iptables/proxier.go,
// the "Build rules for each service-port" loop and writeServiceToEndpointRules). Top-level
// rules (nat KUBE-SERVICES/KUBE-NODEPORTS, every filter rule) are always written; the
// per-service chains (SVC/SVL/EXT/FW/SEP) are returned for the caller to write or skip.
import type { Endpoint, ServicePort } from '../../model/types.ts';
import { protocolLower } from './chain-names.ts';
import { commentToken, quotedComment, sanitizeCommentText } from './comment.ts';
import type { PortNameCache } from './name-cache.ts';
import { cidrContains, type RenderOptions } from './options.ts';
import { probability } from './probability.ts';
import type { Lines } from './render-lines.ts';
import type { CategorizedEndpoints } from '../../model/topology.ts';

export const MARK_MASQ = 'KUBE-MARK-MASQ';

export interface ServiceRenderContext {
  readonly opts: RenderOptions;
  readonly isIPv6: boolean;
  readonly largeClusterMode: boolean;
  /** Effective: configured, IPv4, and loopback among nodePortAddresses. */
  readonly localhostNodePorts: boolean;
  /** Where the per-service chains' `:CHAIN` lines and rules go. */
  readonly decl: Lines;
  readonly rules: Lines;
}

/** A service port's lines in the top-level chains (shared EMPTY when none), kept in the memo. */
export interface ServiceTop {
  /** nat KUBE-SERVICES, nat KUBE-NODEPORTS. */
  readonly natServices: readonly string[];
  readonly natNodePorts: readonly string[];
  /** filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL. */
  readonly filterServices: readonly string[];
  readonly filterExternal: readonly string[];
  readonly filterNodePorts: readonly string[];
  readonly filterFirewall: readonly string[];
}

export const TOP_KEYS = ['natServices', 'natNodePorts', 'filterServices', 'filterExternal', 'filterNodePorts', 'filterFirewall'] as const;
export const EMPTY_LINES: readonly string[] = Object.freeze([]);
export const EMPTY_TOP: ServiceTop = Object.freeze({
  natServices: EMPTY_LINES, natNodePorts: EMPTY_LINES, filterServices: EMPTY_LINES,
  filterExternal: EMPTY_LINES, filterNodePorts: EMPTY_LINES, filterFirewall: EMPTY_LINES,
});

export interface ServiceRenderResult {
  readonly top: ServiceTop;
  /** Per-service nat chains this port owns, in declaration order. */
  readonly chains: readonly string[];
  /** Rules written to `ctx.rules` for them. */
  readonly chainRules: number;
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

const orEmpty = (xs: string[]): readonly string[] => (xs.length === 0 ? EMPTY_LINES : xs);

/** Indices in `ordered` of `sub`, a subsequence of it (topology filters keep input order). */
function indicesOf(ordered: readonly Endpoint[], sub: readonly Endpoint[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (const e of sub) {
    while (j < ordered.length && ordered[j] !== e) j++;
    if (j === ordered.length) {
      // Not in order after all: fall back to a search (same answer, just slower).
      j = ordered.indexOf(e);
      if (j < 0) throw new Error('endpoint not among the service port\'s endpoints');
    }
    out.push(j);
  }
  return out;
}

/**
 * `ordered`: the port's endpoints sorted by `IP:port`; `strs[i]` is that string for
 * `ordered[i]`; `cat` was computed from `ordered`.
 */
export function renderServicePort(
  ctx: ServiceRenderContext,
  svc: ServicePort,
  ordered: readonly Endpoint[],
  strs: readonly string[],
  cat: CategorizedEndpoints,
  externallyAccessible: boolean,
  names: PortNameCache,
): ServiceRenderResult {
  const { opts } = ctx;
  const chainDecl = ctx.decl;
  const rules = ctx.rules;
  const rulesBefore = rules.count;
  const chains: string[] = [];
  const nat = { services: [] as string[], nodePorts: [] as string[] };
  const filter = { services: [] as string[], external: [] as string[], nodePorts: [] as string[], firewall: [] as string[] };
  let noLocalInternal = false;
  let noLocalExternal = false;

  const proto = protocolLower(svc.protocol);
  const pm = `-m ${proto} -p ${proto}`;
  const name = sanitizeCommentText(svc.name);
  const bare = commentToken(name);
  const n = names.service;
  const port = String(svc.port);
  const etpLocal = svc.externalPolicyLocal && externallyAccessible;
  const itpLocal = svc.internalPolicyLocal;
  const usesClusterEndpoints = !itpLocal || externallyAccessible;
  const usesLocalEndpoints = itpLocal || etpLocal;

  const hasEndpoints = cat.hasAnyEndpoints;
  const usesClusterPolicyChain = cat.clusterEndpoints.length > 0 && usesClusterEndpoints;
  const usesLocalPolicyChain = cat.localEndpoints.length > 0 && usesLocalEndpoints;
  const internalTrafficChain = itpLocal ? n.svl : n.svc;
  const hasInternalEndpoints = hasEndpoints && (!itpLocal || cat.localEndpoints.length > 0);
  const externalPolicyChain = etpLocal ? n.svl : n.svc;
  const hasExternalEndpoints = hasEndpoints && (!etpLocal || cat.localEndpoints.length > 0);
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible;
  const usesFWChain = hasEndpoints && svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  const lbChain = usesFWChain ? n.fw : n.ext;

  let internalTarget = '';
  let internalComment = '';
  let externalTarget = '';
  let externalComment = '';
  if (!hasEndpoints) {
    internalTarget = externalTarget = 'REJECT';
    internalComment = externalComment = quotedComment(`${name} has no endpoints`);
  } else {
    if (!hasInternalEndpoints) {
      internalTarget = 'DROP';
      internalComment = quotedComment(`${name} has no local endpoints`);
      noLocalInternal = true;
    }
    if (!hasExternalEndpoints) {
      externalTarget = 'DROP';
      externalComment = quotedComment(`${name} has no local endpoints`);
      noLocalExternal = true;
    }
  }

  // Capture the clusterIP.
  const clusterMatch = `-m comment --comment ${quotedComment(`${name} cluster IP`)} ${pm} -d ${svc.clusterIP} --dport ${port}`;
  if (hasInternalEndpoints) nat.services.push(`-A KUBE-SERVICES ${clusterMatch} -j ${internalTrafficChain}`);
  else filter.services.push(`-A KUBE-SERVICES -m comment --comment ${internalComment} ${pm} -d ${svc.clusterIP} --dport ${port} -j ${internalTarget}`);

  // Capture externalIPs.
  for (const ip of svc.externalIPs) {
    if (hasEndpoints) {
      nat.services.push(`-A KUBE-SERVICES -m comment --comment ${quotedComment(`${name} external IP`)} ${pm} -d ${ip} --dport ${port} -j ${n.ext}`);
    }
    if (!hasExternalEndpoints) {
      filter.external.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalComment} ${pm} -d ${ip} --dport ${port} -j ${externalTarget}`);
    }
  }

  // Capture load-balancer ingress.
  for (const ip of svc.loadBalancerVIPs) {
    if (hasEndpoints) {
      nat.services.push(`-A KUBE-SERVICES -m comment --comment ${quotedComment(`${name} loadbalancer IP`)} ${pm} -d ${ip} --dport ${port} -j ${lbChain}`);
    }
    if (usesFWChain) {
      filter.firewall.push(`-A KUBE-PROXY-FIREWALL -m comment --comment ${quotedComment(`${name} traffic not accepted by ${n.fw}`)} ${pm} -d ${ip} --dport ${port} -j DROP`);
    }
  }
  if (!hasExternalEndpoints) {
    for (const ip of svc.loadBalancerVIPs) {
      filter.external.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalComment} ${pm} -d ${ip} --dport ${port} -j ${externalTarget}`);
    }
  }

  // Capture nodeports. For better or worse, nodeports are not subject to
  // loadBalancerSourceRanges (upstream says so, and we keep it).
  if (svc.nodePort !== 0) {
    const np = String(svc.nodePort);
    if (hasEndpoints) {
      if (ctx.localhostNodePorts && opts.nfacct.localhostNodePortsAccepted) {
        nat.nodePorts.push(`-A KUBE-NODEPORTS -m comment --comment ${bare} ${pm} -d 127.0.0.0/8 --dport ${np} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j ${n.ext}`);
      }
      nat.nodePorts.push(`-A KUBE-NODEPORTS -m comment --comment ${bare} ${pm} --dport ${np} -j ${n.ext}`);
    }
    if (!hasExternalEndpoints) {
      filter.external.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalComment} -m addrtype --dst-type LOCAL ${pm} --dport ${np} -j ${externalTarget}`);
    }
  }

  // Health-check node ports are accepted whether or not there are local endpoints.
  if (svc.healthCheckNodePort !== 0) {
    filter.nodePorts.push(`-A KUBE-NODEPORTS -m comment --comment ${quotedComment(`${name} health check node port`)} -m tcp -p tcp --dport ${svc.healthCheckNodePort} -j ACCEPT`);
  }

  // --- Per-service chains (skipped on a partial sync when unchanged). ---

  // Internal traffic: masquerade off-cluster sources, so replies come back through this node.
  if (hasInternalEndpoints) {
    if (opts.masqueradeAll) rules.push(`-A ${internalTrafficChain} ${clusterMatch} -j ${MARK_MASQ}`);
    else if (opts.localDetector !== null) rules.push(`-A ${internalTrafficChain} ${clusterMatch} ${opts.localDetector.ifNotLocal} -j ${MARK_MASQ}`);
  }

  if (usesExternalTrafficChain) {
    chainDecl.push(`:${n.ext} - [0:0]`);
    chains.push(n.ext);
    if (!etpLocal) {
      rules.push(`-A ${n.ext} -m comment --comment ${quotedComment(`masquerade traffic for ${name} external destinations`)} -j ${MARK_MASQ}`);
    } else {
      // Pod -> external destination is short-circuited to the Cluster chain, simulating a
      // trip out to the load balancer and back in.
      if (opts.localDetector !== null) {
        rules.push(`-A ${n.ext} -m comment --comment ${quotedComment(`pod traffic for ${name} external destinations`)} ${opts.localDetector.ifLocal} -j ${n.svc}`);
      }
      // Host-originated traffic needs SNAT: the LB IP is local, so it would be the source.
      rules.push(`-A ${n.ext} -m comment --comment ${quotedComment(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${MARK_MASQ}`);
      rules.push(`-A ${n.ext} -m comment --comment ${quotedComment(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${n.svc}`);
    }
    if (hasExternalEndpoints) rules.push(`-A ${n.ext} -j ${externalPolicyChain}`);
  }

  if (usesFWChain) {
    chainDecl.push(`:${n.fw} - [0:0]`);
    chains.push(n.fw);
    const head = `-A ${n.fw} -m comment --comment ${quotedComment(`${name} loadbalancer IP`)}`;
    let allowFromNode = false;
    const nodeIP = opts.nodeIPs[0];
    for (const cidr of svc.loadBalancerSourceRanges) {
      rules.push(`${head} -s ${cidr} -j ${n.ext}`);
      if (nodeIP !== undefined && !allowFromNode && cidrContains(cidr, nodeIP)) allowFromNode = true;
    }
    // A VIP-like LB's address is often local: node -> VIP loops back with the VIP as source.
    if (allowFromNode) for (const ip of svc.loadBalancerVIPs) rules.push(`${head} -s ${ip} -j ${n.ext}`);
    // Falling off the end means not DNATed; filter KUBE-PROXY-FIREWALL drops it.
    rules.push(`-A ${n.fw} -m comment --comment ${quotedComment(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`)}`);
  }

  const sepComment = ctx.largeClusterMode ? '' : ` -m comment --comment ${bare}`;
  const sep: string[] = [];
  const sepOf = (i: number): string => {
    let c = sep[i];
    if (c === undefined) {
      c = names.endpoint(strs[i] as string);
      sep[i] = c;
    }
    return c;
  };

  const policyChain = (chain: string, eps: readonly Endpoint[]): void => {
    chainDecl.push(`:${chain} - [0:0]`);
    chains.push(chain);
    const idx = indicesOf(ordered, eps);
    const lb = (i: number): string => (ctx.largeClusterMode ? '' : ` -m comment --comment ${quotedComment(`${name} -> ${strs[i] as string}`)}`);
    if (svc.sessionAffinity.type === 'ClientIP') {
      const tail = ` --rcheck --seconds ${svc.sessionAffinity.timeoutSeconds} --reap -j `;
      for (const i of idx) {
        const c = sepOf(i);
        rules.push(`-A ${chain}${lb(i)} -m recent --name ${c}${tail}${c}`);
      }
    }
    const count = idx.length;
    for (let k = 0; k < count; k++) {
      const i = idx[k] as number;
      const stat = k < count - 1 ? ` -m statistic --mode random --probability ${probability(count - k)}` : '';
      rules.push(`-A ${chain}${lb(i)}${stat} -j ${sepOf(i)}`);
    }
  };
  if (usesClusterPolicyChain) policyChain(n.svc, cat.clusterEndpoints);
  if (usesLocalPolicyChain) policyChain(n.svl, cat.localEndpoints);

  // Per-endpoint chains: hairpin masquerade, then DNAT.
  const affinity = svc.sessionAffinity.type === 'ClientIP';
  const dnat = ` ${pm} -j DNAT --to-destination `;
  for (const i of indicesOf(ordered, cat.allReachableEndpoints)) {
    const c = sepOf(i);
    const str = strs[i] as string;
    names.keep(str, c);
    chainDecl.push(`:${c} - [0:0]`);
    chains.push(c);
    const head = `-A ${c}${sepComment}`;
    rules.push(`${head} -s ${(ordered[i] as Endpoint).ip} -j ${MARK_MASQ}`);
    rules.push(affinity ? `${head} -m recent --name ${c} --set${dnat}${str}` : `${head}${dnat}${str}`);
  }

  const top: ServiceTop = {
    natServices: orEmpty(nat.services), natNodePorts: orEmpty(nat.nodePorts),
    filterServices: orEmpty(filter.services), filterExternal: orEmpty(filter.external),
    filterNodePorts: orEmpty(filter.nodePorts), filterFirewall: orEmpty(filter.firewall),
  };
  return { top, chains, chainRules: rules.count - rulesBefore, noLocalInternal, noLocalExternal };
}
