// Rules for one service port, in upstream syncProxyRules' order (pkg/proxy/iptables/proxier.go,
// the "Build rules for each service-port" loop and writeServiceToEndpointRules). Top-level
// rules (nat KUBE-SERVICES/KUBE-NODEPORTS, every filter rule) are always written; the
// per-service chains (SVC/SVL/EXT/FW/SEP) are returned for the caller to write or skip.
import type { Endpoint, ServicePort } from '../../model/types.ts';
import { joinHostPort, protocolLower } from './chain-names.ts';
import { commentToken, quotedComment, sanitizeCommentText } from './comment.ts';
import type { NameCache } from './name-cache.ts';
import { cidrContains, type RenderOptions } from './options.ts';
import { probability } from './probability.ts';
import type { CategorizedEndpoints } from '../../model/topology.ts';

export const MARK_MASQ = 'KUBE-MARK-MASQ';

export interface ServiceRenderContext {
  readonly opts: RenderOptions;
  readonly isIPv6: boolean;
  readonly largeClusterMode: boolean;
  /** Effective: configured, IPv4, and loopback among nodePortAddresses. */
  readonly localhostNodePorts: boolean;
  readonly names: NameCache;
  /** Top-level rules go straight into their chain's buffer. */
  readonly filter: TopFilterBuffers;
  readonly nat: TopNatBuffers;
  noLocalEndpointsInternal: number;
  noLocalEndpointsExternal: number;
}

export interface TopFilterBuffers {
  readonly services: string[];
  readonly external: string[];
  readonly nodePorts: string[];
  readonly firewall: string[];
}

export interface TopNatBuffers {
  readonly services: string[];
  readonly nodePorts: string[];
}

export interface ServiceRenderResult {
  /** Per-service nat chains this port owns, in declaration order. */
  readonly chains: readonly string[];
  /** `:CHAIN - [0:0]` lines for them. */
  readonly decl: readonly string[];
  /** Their rules; the caller writes them or (partial sync, unchanged) only counts them. */
  readonly rules: readonly string[];
}

/** Local endpoints with policy-chain helpers resolved once. */
interface EpView {
  readonly ep: Endpoint;
  readonly str: string;
  readonly chain: string;
}

export function renderServicePort(
  ctx: ServiceRenderContext,
  svc: ServicePort,
  cat: CategorizedEndpoints,
  externallyAccessible: boolean,
): ServiceRenderResult {
  const { opts, filter, nat } = ctx;
  const chainDecl: string[] = [];
  const rules: string[] = [];
  const chains: string[] = [];

  const proto = protocolLower(svc.protocol);
  const pm = `-m ${proto} -p ${proto}`;
  const name = sanitizeCommentText(svc.name);
  const bare = commentToken(name);
  const n = ctx.names.service(svc.name, svc.protocol);
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
      ctx.noLocalEndpointsInternal++;
    }
    if (!hasExternalEndpoints) {
      externalTarget = 'DROP';
      externalComment = quotedComment(`${name} has no local endpoints`);
      ctx.noLocalEndpointsExternal++;
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
  const views = new Map<Endpoint, EpView>();
  const view = (ep: Endpoint): EpView => {
    let v = views.get(ep);
    if (v === undefined) {
      const str = joinHostPort(ep.ip, ep.port);
      v = { ep, str, chain: ctx.names.endpoint(svc.name, svc.protocol, str) };
      views.set(ep, v);
    }
    return v;
  };

  const policyChain = (chain: string, eps: readonly Endpoint[]): void => {
    chainDecl.push(`:${chain} - [0:0]`);
    chains.push(chain);
    const vs = eps.map(view);
    const lb = (v: EpView): string => (ctx.largeClusterMode ? '' : ` -m comment --comment ${quotedComment(`${name} -> ${v.str}`)}`);
    if (svc.sessionAffinity.type === 'ClientIP') {
      for (const v of vs) {
        rules.push(`-A ${chain}${lb(v)} -m recent --name ${v.chain} --rcheck --seconds ${svc.sessionAffinity.timeoutSeconds} --reap -j ${v.chain}`);
      }
    }
    const count = vs.length;
    for (let i = 0; i < count; i++) {
      const v = vs[i] as EpView;
      const stat = i < count - 1 ? ` -m statistic --mode random --probability ${probability(count - i)}` : '';
      rules.push(`-A ${chain}${lb(v)}${stat} -j ${v.chain}`);
    }
  };
  if (usesClusterPolicyChain) policyChain(n.svc, cat.clusterEndpoints);
  if (usesLocalPolicyChain) policyChain(n.svl, cat.localEndpoints);

  // Per-endpoint chains: hairpin masquerade, then DNAT.
  const affinity = svc.sessionAffinity.type === 'ClientIP';
  for (const ep of cat.allReachableEndpoints) {
    const v = view(ep);
    chainDecl.push(`:${v.chain} - [0:0]`);
    chains.push(v.chain);
    rules.push(`-A ${v.chain}${sepComment} -s ${ep.ip} -j ${MARK_MASQ}`);
    const recent = affinity ? ` -m recent --name ${v.chain} --set` : '';
    rules.push(`-A ${v.chain}${sepComment}${recent} ${pm} -j DNAT --to-destination ${v.str}`);
  }

  return { chains, decl: chainDecl, rules };
}
