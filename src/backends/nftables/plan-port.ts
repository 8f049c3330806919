// One service port's objects in upstream v1.36's layout (pkg/proxy/nftables/proxier.go
// syncProxyRules, the per-service loop, with #135800 and #136499): its elements in the shared
// sets and verdict maps, its own chains and their rules, and its affinity sets. No per-endpoint
// chains unless the port has ClientIP affinity: a service chain DNATs with one
// `numgen random mod N map { i : IP . port }` rule.
import type { Endpoint, ServicePort } from '../../model/types.ts';
import { endpointString } from '../../model/endpoint.ts';
import type { CategorizedEndpoints } from '../../model/topology.ts';
import { protocolLower } from '../iptables/chain-names.ts';
import { endpointChainBase, nftComment, portChainBase, PREFIX } from './names.ts';
import { cidrContains, ipKeyword, type NftOptions } from './options.ts';

export type Container =
  | 'cluster-ips' | 'service-ips' | 'service-nodeports' | 'no-endpoint-services'
  | 'no-endpoint-nodeports' | 'firewall-ips' | 'hairpin-connections';

export const CONTAINERS: readonly Container[] = [
  'cluster-ips', 'service-ips', 'service-nodeports', 'no-endpoint-services',
  'no-endpoint-nodeports', 'firewall-ips', 'hairpin-connections',
];
export const SET_CONTAINERS: ReadonlySet<Container> = new Set(['cluster-ips', 'hairpin-connections']);

export interface Element {
  readonly container: Container;
  /** e.g. `172.30.0.41 . tcp . 80`. */
  readonly key: string;
  /** What follows the key inside the braces: ` comment "x" : goto y`, ` : drop`, '' for sets. */
  readonly tail: string;
}

export interface ChainPlan {
  readonly name: string;
  readonly rules: readonly string[];
}

export interface PortPlan {
  readonly elements: readonly Element[];
  /** The port's chains in creation order, each with its rules. */
  readonly chains: readonly ChainPlan[];
  /** `add set` bodies of its affinity sets, by name. */
  readonly affinitySets: ReadonlyMap<string, string>;
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

function dnatTarget(ep: Endpoint): string {
  return endpointString(ep);
}

export function planPort(opts: NftOptions, svc: ServicePort, cat: CategorizedEndpoints, externallyAccessible: boolean): PortPlan {
  const ip = ipKeyword(opts.family);
  const addrType = opts.family === 'IPv6' ? 'ipv6_addr' : 'ipv4_addr';
  const proto = protocolLower(svc.protocol);
  const port = String(svc.port);
  const base = portChainBase(svc.namespace, svc.serviceName, svc.protocol, svc.portName);
  const clusterChain = PREFIX.service + base;
  const localChain = PREFIX.local + base;
  const externalChain = PREFIX.external + base;
  const fwChain = PREFIX.firewall + base;
  const masq = `mark set mark or ${opts.masqueradeMark}`;
  const comment = nftComment(svc.name);
  const elements: Element[] = [];
  const chains: ChainPlan[] = [];
  const affinitySets = new Map<string, string>();
  const el = (container: Container, key: string, tail = ''): void => void elements.push({ container, key, tail });

  const usesAffinity = svc.sessionAffinity.type === 'ClientIP';
  const hasEndpoints = cat.hasAnyEndpoints;
  const itpLocal = svc.internalPolicyLocal;
  const etpLocal = svc.externalPolicyLocal && externallyAccessible;
  const usesClusterEndpoints = !itpLocal || externallyAccessible;
  const usesLocalEndpoints = itpLocal || etpLocal;
  const usesClusterPolicyChain = cat.clusterEndpoints.length > 0 && usesClusterEndpoints;
  const usesLocalPolicyChain = cat.localEndpoints.length > 0 && usesLocalEndpoints;
  const hasInternalEndpoints = hasEndpoints && (!itpLocal || cat.localEndpoints.length > 0);
  const hasExternalEndpoints = hasEndpoints && (!etpLocal || cat.localEndpoints.length > 0);
  const internalChain = itpLocal ? localChain : clusterChain;
  const externalPolicyChain = etpLocal ? localChain : clusterChain;
  const usesExternalChain = hasEndpoints && externallyAccessible;
  const usesFWChain = svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;

  let internalVerdict = '';
  let externalVerdict = '';
  if (!hasEndpoints) internalVerdict = externalVerdict = 'goto reject-chain';
  else {
    if (!hasInternalEndpoints) internalVerdict = 'drop';
    if (!hasExternalEndpoints) externalVerdict = 'drop';
  }

  // Hairpin: a local endpoint reaching itself through the service is masqueraded (#136499).
  for (const ep of cat.allReachableEndpoints) {
    if (ep.isLocal) el('hairpin-connections', `${ep.ip} . ${ep.ip} . ${proto} . ${ep.port}`);
  }

  el('cluster-ips', svc.clusterIP);
  const cipKey = `${svc.clusterIP} . ${proto} . ${port}`;
  if (hasInternalEndpoints) el('service-ips', cipKey, ` : goto ${internalChain}`);
  else el('no-endpoint-services', cipKey, ` comment ${comment} : ${internalVerdict}`);

  for (const eip of svc.externalIPs) {
    const key = `${eip} . ${proto} . ${port}`;
    if (hasEndpoints) el('service-ips', key, ` : goto ${externalChain}`);
    if (!hasExternalEndpoints) el('no-endpoint-services', key, ` comment ${comment} : ${externalVerdict}`);
  }
  for (const lb of svc.loadBalancerVIPs) {
    const key = `${lb} . ${proto} . ${port}`;
    if (hasEndpoints) el('service-ips', key, ` : goto ${externalChain}`);
    if (usesFWChain) el('firewall-ips', key, ` : goto ${fwChain}`);
  }
  if (!hasExternalEndpoints) {
    for (const lb of svc.loadBalancerVIPs) el('no-endpoint-services', `${lb} . ${proto} . ${port}`, ` comment ${comment} : ${externalVerdict}`);
  }
  if (svc.nodePort !== 0) {
    const key = `${proto} . ${svc.nodePort}`;
    if (hasEndpoints) el('service-nodeports', key, ` : goto ${externalChain}`);
    if (!hasExternalEndpoints) el('no-endpoint-nodeports', key, ` comment ${comment} : ${externalVerdict}`);
  }

  // Chains, in upstream's ensureChain order.
  const epBase = (ep: Endpoint): string => endpointChainBase(svc.namespace, svc.serviceName, svc.protocol, svc.portName, ep.ip, ep.port);
  const dnatRules = (eps: readonly Endpoint[]): string[] => {
    if (!usesAffinity) {
      const m = eps.map((ep, i) => `${i} : ${ep.ip} . ${ep.port}`).join(' , ');
      return [`meta l4proto ${proto} dnat ${ip} addr . port to numgen random mod ${eps.length} map { ${m} }`];
    }
    const rules = eps.map((ep) => `${ip} saddr @${PREFIX.affinity}${epBase(ep)} goto ${PREFIX.endpoint}${epBase(ep)}`);
    const v = eps.map((ep, i) => `${i} : goto ${PREFIX.endpoint}${epBase(ep)}`).join(' , ');
    rules.push(`numgen random mod ${eps.length} vmap { ${v} }`);
    return rules;
  };
  if (usesClusterPolicyChain) chains.push({ name: clusterChain, rules: dnatRules(cat.clusterEndpoints) });
  if (usesLocalPolicyChain) chains.push({ name: localChain, rules: dnatRules(cat.localEndpoints) });

  if (usesExternalChain) {
    const rules: string[] = [];
    if (!etpLocal) rules.push(`${masq} comment "masquerade"`);
    else {
      if (opts.localDetector !== null) rules.push(`${opts.localDetector.ifLocal} goto ${clusterChain} comment "short-circuit pod traffic"`);
      rules.push(`fib saddr type local ${masq} comment "masquerade local traffic"`);
      rules.push(`fib saddr type local goto ${clusterChain} comment "short-circuit local traffic"`);
    }
    if (hasExternalEndpoints) rules.push(`goto ${externalPolicyChain}`);
    chains.push({ name: externalChain, rules });
  }

  if (usesFWChain) {
    const sources = [...svc.loadBalancerSourceRanges];
    if (opts.nodeIP !== '' && svc.loadBalancerSourceRanges.some((c) => cidrContains(c, opts.nodeIP))) sources.push(...svc.loadBalancerVIPs);
    chains.push({ name: fwChain, rules: [`${ip} saddr != { ${sources.join(' , ')} } drop`] });
  }

  if (usesAffinity) {
    for (const ep of cat.allReachableEndpoints) {
      const b = epBase(ep);
      affinitySets.set(PREFIX.affinity + b, `{ type ${addrType} ; flags dynamic,timeout ; timeout ${svc.sessionAffinity.timeoutSeconds}s ; }`);
      chains.push({
        name: PREFIX.endpoint + b,
        rules: [`update @${PREFIX.affinity}${b} { ${ip} saddr }`, `meta l4proto ${proto} dnat to ${dnatTarget(ep)}`],
      });
    }
  }

  return {
    elements,
    chains,
    affinitySets,
    noLocalInternal: hasEndpoints && !hasInternalEndpoints,
    noLocalExternal: hasEndpoints && !hasExternalEndpoints,
  };
}
