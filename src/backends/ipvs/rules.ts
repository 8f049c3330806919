// The small, fixed iptables ruleset of upstream's ipvs mode (pkg/proxy/ipvs/proxier.go
// writeIptablesRules, ipsetWithIptablesChain, iptablesChains, iptablesJumpChain): IPVS does the
// load balancing; iptables only marks for masquerade, accepts VIP traffic, enforces
// loadBalancerSourceRanges and stops host ports answering on VIPs (KUBE-IPVS-FILTER,
// kubernetes#72236). Rules that match a set are written only when the set has entries, as
// upstream. Applied with `iptables-restore --noflush --counters`; jumps from built-in chains are
// ensured separately (iptables -C/-I), as the iptables mode does. Pure.
import type { IPFamily } from '../../model/types.ts';
import type { JumpRule } from '../common/jump-rule.ts';
import type { IptablesLocalMatch as LocalDetector } from '../common/local-detector.ts';
import { isSetEmpty, setName } from './ipsets.ts';
import type { IpsetPlan } from './ipsets.ts';

export const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'] as const;
export const FILTER_CHAINS = [
  'KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER',
] as const;

export interface IpvsRulesOptions {
  readonly family: IPFamily;
  /** `0x00004000` style (iptables/options.ts masqueradeMark). */
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  readonly localDetector: LocalDetector | null;
  readonly randomFully: boolean;
}

function jump(table: 'nat' | 'filter', chain: string, target: string, comment: string): JumpRule {
  return { table, chain, target, args: ['-m', 'comment', '--comment', comment, '-j', target] };
}

/** upstream iptablesJumpChain, each prepended to its built-in chain. */
export function ipvsJumps(): readonly JumpRule[] {
  return [
    jump('nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'),
    jump('nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'),
    jump('nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'),
    jump('filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'),
    jump('filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'),
    jump('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
    jump('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
    jump('filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'),
    jump('filter', 'OUTPUT', 'KUBE-IPVS-OUT-FILTER', 'kubernetes ipvs access filter'),
  ];
}

interface SetRule {
  readonly set: string;
  readonly table: 'nat' | 'filter';
  readonly from: string;
  readonly to: string;
  readonly match: string;
  readonly proto?: string;
}

// upstream ipsetWithIptablesChain, in order (order matters: LOCAL before the masquerading set, kubernetes#104755).
const SET_RULES: readonly SetRule[] = [
  { set: 'KUBE-LOOP-BACK', table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', match: 'dst,dst,src' },
  { set: 'KUBE-LOAD-BALANCER', table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', match: 'dst,dst' },
  { set: 'KUBE-LOAD-BALANCER-LOCAL', table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', match: 'dst,dst' },
  { set: 'KUBE-NODE-PORT-LOCAL-TCP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'tcp' },
  { set: 'KUBE-NODE-PORT-TCP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'tcp' },
  { set: 'KUBE-NODE-PORT-LOCAL-UDP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'udp' },
  { set: 'KUBE-NODE-PORT-UDP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'udp' },
  { set: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst,dst', proto: 'sctp' },
  { set: 'KUBE-NODE-PORT-SCTP-HASH', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst,dst', proto: 'sctp' },
  { set: 'KUBE-LOAD-BALANCER-FW', table: 'filter', from: 'KUBE-PROXY-FIREWALL', to: 'KUBE-SOURCE-RANGES-FIREWALL', match: 'dst,dst' },
  { set: 'KUBE-LOAD-BALANCER-SOURCE-CIDR', table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
  { set: 'KUBE-LOAD-BALANCER-SOURCE-IP', table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
];

const COMMENTS: Readonly<Record<string, string>> = {
  'KUBE-LOOP-BACK': 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose',
  'KUBE-CLUSTER-IP': 'Kubernetes service cluster ip + port for masquerade purpose',
  'KUBE-EXTERNAL-IP': 'Kubernetes service external ip + port for masquerade and filter purpose',
  'KUBE-EXTERNAL-IP-LOCAL': 'Kubernetes service external ip + port with externalTrafficPolicy=local',
  'KUBE-LOAD-BALANCER': 'Kubernetes service lb portal',
  'KUBE-LOAD-BALANCER-FW': 'Kubernetes service load balancer ip + port for load balancer with sourceRange',
  'KUBE-LOAD-BALANCER-LOCAL': 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local',
  'KUBE-LOAD-BALANCER-SOURCE-IP': 'Kubernetes service load balancer ip + port + source IP for packet filter purpose',
  'KUBE-LOAD-BALANCER-SOURCE-CIDR': 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  'KUBE-NODE-PORT-TCP': 'Kubernetes nodeport TCP port for masquerade purpose',
  'KUBE-NODE-PORT-LOCAL-TCP': 'Kubernetes nodeport TCP port with externalTrafficPolicy=local',
  'KUBE-NODE-PORT-UDP': 'Kubernetes nodeport UDP port for masquerade purpose',
  'KUBE-NODE-PORT-LOCAL-UDP': 'Kubernetes nodeport UDP port with externalTrafficPolicy=local',
  'KUBE-NODE-PORT-SCTP-HASH': "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
  'KUBE-NODE-PORT-LOCAL-SCTP-HASH': "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
  'KUBE-HEALTH-CHECK-NODE-PORT': 'Kubernetes health check node port',
};

/** The nat and filter tables as one iptables-restore payload. */
export function renderIpvsRules(ipsets: IpsetPlan, o: IpvsRulesOptions): string {
  const nat: string[] = [];
  const filter: string[] = [];
  const name = (base: string): string => setName(base, o.family);
  const has = (base: string): boolean => !isSetEmpty(ipsets.entries, base);
  const setMatch = (base: string, match: string): string =>
    `-m comment --comment "${COMMENTS[base] ?? base}" -m set --match-set ${name(base)} ${match}`;
  const mark = o.masqueradeMark;

  nat.push(`-A KUBE-SERVICES -s ${o.family === 'IPv4' ? '127.0.0.0/8' : '::1/128'} -j RETURN`);
  for (const r of SET_RULES) {
    if (!has(r.set)) continue;
    const line = `-A ${r.from}${r.proto ? ` -p ${r.proto}` : ''} ${setMatch(r.set, r.match)} -j ${r.to}`;
    (r.table === 'nat' ? nat : filter).push(line);
  }
  if (has('KUBE-CLUSTER-IP')) {
    const base = `-A KUBE-SERVICES ${setMatch('KUBE-CLUSTER-IP', '')}`.trimEnd();
    if (o.masqueradeAll) nat.push(`${base} dst,dst -j KUBE-MARK-MASQ`);
    // Off-cluster traffic to a VIP bounces through this node: masquerade it.
    else if (o.localDetector !== null) nat.push(`${base} dst,dst ${o.localDetector.ifNotLocal} -j KUBE-MARK-MASQ`);
    // No detector: masquerade node traffic whose source is a VIP (kube-ipvs0 picks one as source).
    else nat.push(`${base} src,dst -j KUBE-MARK-MASQ`);
  }
  const externalAccept = (args: string): void => {
    // Off-node traffic (not bridged from a pod, not from a local process), and traffic to external
    // IPs the node holds locally (e.g. GCE LBs in the local table).
    nat.push(`${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${args} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (has('KUBE-EXTERNAL-IP')) {
    const args = `-A KUBE-SERVICES ${setMatch('KUBE-EXTERNAL-IP', 'dst,dst')}`;
    nat.push(`${args} -j KUBE-MARK-MASQ`);
    externalAccept(args);
  }
  if (has('KUBE-EXTERNAL-IP-LOCAL')) externalAccept(`-A KUBE-SERVICES ${setMatch('KUBE-EXTERNAL-IP-LOCAL', 'dst,dst')}`);
  nat.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  nat.push('-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
  filter.push('-A KUBE-SOURCE-RANGES-FIREWALL -j DROP');
  for (const e of ipsets.lbNoNodeAccess) {
    filter.push(`-A KUBE-IPVS-OUT-FILTER -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.protocol} --vport ${e.port} -j DROP`);
  }
  // Last in KUBE-SERVICES: accept VIP traffic so other rules (CNI hostport DNAT) can't take it (kubernetes PR #62718).
  for (const base of ['KUBE-CLUSTER-IP', 'KUBE-LOAD-BALANCER']) {
    if (has(base)) nat.push(`-A KUBE-SERVICES -m set --match-set ${name(base)} dst,dst -j ACCEPT`);
  }
  filter.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  filter.push(`-A KUBE-NODE-PORT ${setMatch('KUBE-HEALTH-CHECK-NODE-PORT', 'dst')} -j ACCEPT`);
  for (const base of ['KUBE-LOAD-BALANCER', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL']) {
    filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${name(base)} dst,dst -j RETURN`);
  }
  filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${name('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j RETURN`);
  filter.push(`-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${name('KUBE-IPVS-IPS')} dst -j REJECT`);
  nat.push(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet that re-traverses the stack is not masqueraded twice.
  nat.push(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  nat.push(`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${o.randomFully ? ' --random-fully' : ''}`);
  nat.push(`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`);

  const header = (chains: readonly string[]): string[] => chains.map((c) => `:${c} - [0:0]`);
  return [
    '*filter', ...header(FILTER_CHAINS), ...filter, 'COMMIT',
    '*nat', ...header(NAT_CHAINS), ...nat, 'COMMIT', '',
  ].join('\n');
}
