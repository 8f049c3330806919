// The table's fixed part, written on every full sync (upstream setupNFTables, v1.36 layout):
// the table, the base chains at their priorities, the top-level chains and the jumps into them,
// the masquerading chain with its inline mark test and the hairpin-connections rule, the
// cluster-ips checks (ServiceCIDR drop only when there are ServiceCIDRs), nodeport-ips, the
// no-endpoint and firewall maps and the service dispatch. The element containers are flushed;
// the renderer adds every element back in the same transaction.
import { CONTAINERS, SET_CONTAINERS } from './plan-port.ts';
import { ipKeyword, type NftOptions } from './options.ts';
import { TABLE } from './names.ts';

export interface BaseChain {
  readonly name: string;
  readonly type: 'filter' | 'nat';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly priority: number;
}

/** upstream nftablesBaseChains: dstnat-10, filter, dstnat, srcnat. */
export const BASE_CHAINS: readonly BaseChain[] = [
  { name: 'filter-prerouting-pre-dnat', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-output-pre-dnat', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: 0 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: 0 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: 0 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** upstream nftablesJumpChains: [destination, source, extra match]. */
const JUMPS: readonly (readonly [string, string, string])[] = [
  ['nodeport-endpoints-check', 'filter-input', 'ct state new '],
  ['service-endpoints-check', 'filter-input', 'ct state new '],
  ['service-endpoints-check', 'filter-forward', 'ct state new '],
  ['service-endpoints-check', 'filter-output', 'ct state new '],
  ['firewall-check', 'filter-prerouting-pre-dnat', 'ct state new '],
  ['firewall-check', 'filter-output-pre-dnat', 'ct state new '],
  ['services', 'nat-output', ''],
  ['services', 'nat-prerouting', ''],
  ['masquerading', 'nat-postrouting', ''],
  ['cluster-ips-check', 'filter-forward', 'ct state new '],
  ['cluster-ips-check', 'filter-output', 'ct state new '],
];

/**
 * `recreateBaseChains`: the first full sync of a process adds and deletes every base chain
 * first, so a table left by an older layout (other priorities) is re-created rather than
 * failing the transaction (upstream `proxier.flushed`, kubernetes#123162).
 */
export function renderBase(opts: NftOptions, recreateBaseChains: boolean, out: string[]): void {
  const ip = ipKeyword(opts.family);
  const addr = opts.family === 'IPv6' ? 'ipv6_addr' : 'ipv4_addr';
  const noLocalhost = opts.family === 'IPv6' ? 'ip6 daddr != ::1' : 'ip daddr != 127.0.0.0/8';
  const t = `${ip} ${TABLE}`;
  const mark = opts.masqueradeMark;
  const created = new Set<string>();
  const ensure = (chain: string, spec = ''): void => {
    if (created.has(chain)) return;
    created.add(chain);
    out.push(`add chain ${t} ${chain}${spec}`, `flush chain ${t} ${chain}`);
  };
  const rule = (chain: string, body: string): void => void out.push(`add rule ${t} ${chain} ${body}`);

  out.push(`add table ${t} { comment "rules for kube-proxy" ; }`);
  if (recreateBaseChains) for (const bc of BASE_CHAINS) out.push(`add chain ${t} ${bc.name}`, `delete chain ${t} ${bc.name}`);
  for (const bc of BASE_CHAINS) ensure(bc.name, ` { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
  for (const [dst, src, extra] of JUMPS) {
    ensure(dst);
    rule(src, `${extra}jump ${dst}`);
  }
  for (const c of ['services', 'cluster-ips-check', 'masquerading']) ensure(c);

  out.push(`add set ${t} hairpin-connections { type ${addr} . ${addr} . inet_proto . inet_service ; comment "service hairpin connections" ; }`);
  rule('masquerading', `mark and ${mark} != 0 mark set mark xor ${mark} masquerade fully-random`);
  rule('masquerading', `ct status dnat ${ip} saddr . ${ip} daddr . meta l4proto . th dport @hairpin-connections masquerade fully-random`);

  out.push(`add set ${t} cluster-ips { type ${addr} ; comment "Active ClusterIPs" ; }`);
  rule('cluster-ips-check', `${ip} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`);
  if (opts.serviceCIDRs.length > 0) {
    rule('cluster-ips-check', `${ip} daddr { ${opts.serviceCIDRs.join(' , ')} } drop comment "Drop traffic to unallocated ClusterIPs"`);
  }

  // add+delete rather than delete alone: deleting a set that is not there fails the transaction.
  out.push(`add set ${t} nodeport-ips { type ${addr} ; comment "IPs that accept NodePort traffic" ; }`);
  if (opts.nodePortMatchAll) out.push(`delete set ${t} nodeport-ips`);
  else {
    out.push(`flush set ${t} nodeport-ips`);
    if (opts.nodePortIPs.length > 0) out.push(`add element ${t} nodeport-ips { ${opts.nodePortIPs.join(' , ')} }`);
  }

  out.push(`add map ${t} no-endpoint-services { type ${addr} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`);
  out.push(`add map ${t} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`);
  out.push(`add chain ${t} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`, `flush chain ${t} reject-chain`);
  rule('reject-chain', 'reject');
  rule('service-endpoints-check', `${ip} daddr . meta l4proto . th dport vmap @no-endpoint-services`);
  const npMatch = opts.nodePortMatchAll ? noLocalhost : `${ip} daddr @nodeport-ips`;
  rule('nodeport-endpoints-check', `${npMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`);

  out.push(`add map ${t} firewall-ips { type ${addr} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`);
  ensure('firewall-check');
  rule('firewall-check', `${ip} daddr . meta l4proto . th dport vmap @firewall-ips`);

  out.push(`add map ${t} service-ips { type ${addr} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`);
  out.push(`add map ${t} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`);
  if (opts.masqueradeAll) {
    rule('services', `${ip} daddr @cluster-ips mark set mark or ${mark} comment "masquerade all clusterIP traffic"`);
  } else if (opts.localDetector !== null) {
    rule('services', `${ip} daddr @cluster-ips ${opts.localDetector.ifNotLocal} mark set mark or ${mark} comment "masquerade clusterIP traffic from outside cluster"`);
  }
  rule('services', `${ip} daddr . meta l4proto . th dport vmap @service-ips`);
  const npDispatch = opts.nodePortMatchAll ? `fib daddr type local ${noLocalhost}` : `${ip} daddr @nodeport-ips`;
  rule('services', `${npDispatch} meta l4proto . th dport vmap @service-nodeports`);

  for (const c of CONTAINERS) out.push(`flush ${SET_CONTAINERS.has(c) ? 'set' : 'map'} ${t} ${c}`);
}
