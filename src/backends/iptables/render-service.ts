// One service port's plan, in upstream syncProxyRules' order (pkg/proxy/iptables/proxier.go, the
// "Build rules for each service-port" loop): its lines in the top-level chains (nat
// KUBE-SERVICES/KUBE-NODEPORTS, every filter rule), the names of its own chains (SVC/SVL/EXT/FW/SEP)
// and how many rules they get. The rules of its own chains, the bulk of a payload, are written
// later by render-chains.ts while iptables-restore reads the payload, so a full payload is never
// held in memory at once; both derive what they write from the same PortFacts.
import type { Endpoint, ServicePort } from '../../model/types.ts';
import { protocolLower, type ServiceChainNames } from './chain-names.ts';
import { commentToken, quotedComment, sanitizeCommentText } from './comment.ts';
import type { PortNameCache } from './name-cache.ts';
import { cidrContains, type RenderOptions } from './options.ts';
import type { CategorizedEndpoints } from '../../model/topology.ts';

export const MARK_MASQ = 'KUBE-MARK-MASQ';

/** Bits of ServiceMemo.own: which of its SVC/SVL/EXT/FW chains a port has. */
export const OWN_EXT = 1;
export const OWN_FW = 2;
export const OWN_SVC = 4;
export const OWN_SVL = 8;

const utf8 = new TextEncoder();
const text = new TextDecoder();
/**
 * `line` as one flat string. Template literals build trees of 32-byte cons cells (a top-level
 * line is ~12 of them, ~4x its text); lines the memo keeps between syncs are copied flat once.
 */
export function flatLine(line: string): string {
  return text.decode(utf8.encode(line));
}

export interface ServiceRenderContext {
  readonly opts: RenderOptions;
  readonly isIPv6: boolean;
  readonly largeClusterMode: boolean;
  /** Effective: configured, IPv4, and loopback among nodePortAddresses. */
  readonly localhostNodePorts: boolean;
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
  /** Which of its SVC/SVL/EXT/FW chains the port has (OWN_* of render-memo.ts); SEP chains: names. */
  readonly own: number;
  /** Rules render-chains.ts writes into them. */
  readonly chainRules: number;
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

/** Kept in the memo between syncs: flat copies (render-memo.ts flatLine). */
const orEmpty = (xs: string[]): readonly string[] => (xs.length === 0 ? EMPTY_LINES : xs.map(flatLine));

/** Indices in `ordered` of `sub`, a subsequence of it (topology filters keep input order). */
export function indicesOf(ordered: readonly Endpoint[], sub: readonly Endpoint[]): number[] {
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

/** What both the plan and the chain writer derive from a service port and its endpoints. */
export interface PortFacts {
  /** Sanitized `ns/name:port` for comments, and as a bare comment token. */
  readonly name: string;
  readonly bare: string;
  /** `-m tcp -p tcp` */
  readonly pm: string;
  readonly n: ServiceChainNames;
  readonly etpLocal: boolean;
  readonly hasEndpoints: boolean;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  readonly usesClusterPolicyChain: boolean;
  readonly usesLocalPolicyChain: boolean;
  readonly usesExternalTrafficChain: boolean;
  readonly usesFWChain: boolean;
  readonly internalTrafficChain: string;
  readonly externalPolicyChain: string;
  /** The clusterIP match, shared by the KUBE-SERVICES rule and the masquerade rule. */
  readonly clusterMatch: string;
}

export function portFacts(svc: ServicePort, cat: CategorizedEndpoints, externallyAccessible: boolean, n: ServiceChainNames): PortFacts {
  const proto = protocolLower(svc.protocol);
  const pm = `-m ${proto} -p ${proto}`;
  const name = sanitizeCommentText(svc.name);
  const etpLocal = svc.externalPolicyLocal && externallyAccessible;
  const itpLocal = svc.internalPolicyLocal;
  const usesClusterEndpoints = !itpLocal || externallyAccessible;
  const usesLocalEndpoints = itpLocal || etpLocal;
  const hasEndpoints = cat.hasAnyEndpoints;
  return {
    name,
    bare: commentToken(name),
    pm,
    n,
    etpLocal,
    hasEndpoints,
    hasInternalEndpoints: hasEndpoints && (!itpLocal || cat.localEndpoints.length > 0),
    hasExternalEndpoints: hasEndpoints && (!etpLocal || cat.localEndpoints.length > 0),
    usesClusterPolicyChain: cat.clusterEndpoints.length > 0 && usesClusterEndpoints,
    usesLocalPolicyChain: cat.localEndpoints.length > 0 && usesLocalEndpoints,
    usesExternalTrafficChain: hasEndpoints && externallyAccessible,
    usesFWChain: hasEndpoints && svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0,
    internalTrafficChain: itpLocal ? n.svl : n.svc,
    externalPolicyChain: etpLocal ? n.svl : n.svc,
    clusterMatch: `-m comment --comment ${quotedComment(`${name} cluster IP`)} ${pm} -d ${svc.clusterIP} --dport ${svc.port}`,
  };
}

/** Whether the FW chain also accepts the LB VIPs as sources (a source range holds the node IP). */
export function allowFromNode(svc: ServicePort, opts: RenderOptions): boolean {
  const nodeIP = opts.nodeIPs[0];
  return nodeIP !== undefined && svc.loadBalancerSourceRanges.some((cidr) => cidrContains(cidr, nodeIP));
}

/** The number of rules render-chains.ts writes for this port; the writer's tests check they agree. */
function chainRuleCount(ctx: ServiceRenderContext, svc: ServicePort, cat: CategorizedEndpoints, f: PortFacts): number {
  const { opts } = ctx;
  let count = 0;
  if (f.hasInternalEndpoints && (opts.masqueradeAll || opts.localDetector !== null)) count++;
  if (f.usesExternalTrafficChain) count += (f.etpLocal ? (opts.localDetector !== null ? 3 : 2) : 1) + (f.hasExternalEndpoints ? 1 : 0);
  if (f.usesFWChain) count += svc.loadBalancerSourceRanges.length + (allowFromNode(svc, opts) ? svc.loadBalancerVIPs.length : 0) + 1;
  const perEndpoint = svc.sessionAffinity.type === 'ClientIP' ? 2 : 1;
  if (f.usesClusterPolicyChain) count += perEndpoint * cat.clusterEndpoints.length;
  if (f.usesLocalPolicyChain) count += perEndpoint * cat.localEndpoints.length;
  return count + 2 * cat.allReachableEndpoints.length;
}

/**
 * `ordered`: the port's endpoints sorted by `IP:port`; `strs[i]` is that string for
 * `ordered[i]`; `cat` was computed from `ordered`. Hashes (or recalls) the KUBE-SEP names of the
 * reachable endpoints into `names`, in ascending order, so `names.done()` lists them aligned with
 * `cat.allReachableEndpoints` (pass them to `names.done`), which the chain writer relies on.
 */
export function planServicePort(
  ctx: ServiceRenderContext,
  svc: ServicePort,
  ordered: readonly Endpoint[],
  strs: readonly string[],
  cat: CategorizedEndpoints,
  externallyAccessible: boolean,
  names: PortNameCache,
): ServiceRenderResult {
  const f = portFacts(svc, cat, externallyAccessible, names.service);
  const { name, bare, pm, n, hasEndpoints, hasInternalEndpoints, hasExternalEndpoints, usesFWChain } = f;
  const nat = { services: [] as string[], nodePorts: [] as string[] };
  const filter = { services: [] as string[], external: [] as string[], nodePorts: [] as string[], firewall: [] as string[] };
  let noLocalInternal = false;
  let noLocalExternal = false;
  const port = String(svc.port);
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
  if (hasInternalEndpoints) nat.services.push(`-A KUBE-SERVICES ${f.clusterMatch} -j ${f.internalTrafficChain}`);
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
      if (ctx.localhostNodePorts && ctx.opts.nfacct.localhostNodePortsAccepted) {
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

  // The port's own chains (declared in this order: EXT, FW, SVC, SVL, SEPs).
  const own = (f.usesExternalTrafficChain ? OWN_EXT : 0) | (usesFWChain ? OWN_FW : 0) |
    (f.usesClusterPolicyChain ? OWN_SVC : 0) | (f.usesLocalPolicyChain ? OWN_SVL : 0);
  for (const i of indicesOf(ordered, cat.allReachableEndpoints)) names.keep(names.endpoint(strs[i] as string));

  const top: ServiceTop = {
    natServices: orEmpty(nat.services), natNodePorts: orEmpty(nat.nodePorts),
    filterServices: orEmpty(filter.services), filterExternal: orEmpty(filter.external),
    filterNodePorts: orEmpty(filter.nodePorts), filterFirewall: orEmpty(filter.firewall),
  };
  return { top, own, chainRules: chainRuleCount(ctx, svc, cat, f), noLocalInternal, noLocalExternal };
}
