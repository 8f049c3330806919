// The ipsets upstream's ipvs mode fills (pkg/proxy/ipvs/ipset.go, proxier.go syncProxyRules) with
// the same names, types and entry syntax, so the fixed iptables rules (rules.ts) and operators'
// tooling see what they know. Upstream execs `ipset add`/`del` once per entry, a known bottleneck
// with thousands of Services (kubernetes#133773); here every sync is ONE `ipset restore -exist`
// script: a full sync rebuilds each set in a temporary set and swaps it in (atomic per set, and it
// repairs any drift), a partial sync adds and deletes only the entries that changed since the last
// script that succeeded. Pure.
import { cidrContains } from '../../model/ip.ts';
import type { Endpoint, IPFamily, ProxyState, ServicePort } from '../../model/types.ts';
import type { IpvsPlan } from './plan.ts';

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

export interface IpsetDef {
  /** The IPv4 name; IPv6 sets are `KUBE-6-…` (setName). */
  readonly base: string;
  readonly type: IpsetType;
  readonly comment: string;
}

// upstream ipsetInfo, in its order.
export const IPSETS: readonly IpsetDef[] = [
  { base: 'KUBE-LOOP-BACK', type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { base: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { base: 'KUBE-EXTERNAL-IP', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  { base: 'KUBE-EXTERNAL-IP-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  { base: 'KUBE-LOAD-BALANCER', type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  { base: 'KUBE-LOAD-BALANCER-FW', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  { base: 'KUBE-LOAD-BALANCER-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  { base: 'KUBE-LOAD-BALANCER-SOURCE-IP', type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  { base: 'KUBE-LOAD-BALANCER-SOURCE-CIDR', type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  { base: 'KUBE-NODE-PORT-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { base: 'KUBE-NODE-PORT-LOCAL-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { base: 'KUBE-NODE-PORT-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { base: 'KUBE-NODE-PORT-LOCAL-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  { base: 'KUBE-NODE-PORT-SCTP-HASH', type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  { base: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH', type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  { base: 'KUBE-HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { base: 'KUBE-IPVS-IPS', type: 'hash:ip', comment: 'Kubernetes service IP list' },
];

/** upstream: IPv6 replaces the `KUBE-` prefix with `KUBE-6-`; names are capped at 31 characters. */
export function setName(base: string, family: IPFamily): string {
  return family === 'IPv4' ? base : `KUBE-6-${base.slice(5)}`.slice(0, 31);
}

/** Desired entries per set, by base name (every set present, maybe empty). */
export type IpsetEntries = ReadonlyMap<string, ReadonlySet<string>>;

/** A load-balancer VIP whose source ranges exclude this node: the node itself is kept out (KUBE-IPVS-OUT-FILTER). */
export interface LbNoNodeAccess {
  readonly ip: string;
  readonly protocol: string;
  readonly port: number;
}

export interface IpsetPlan {
  readonly entries: IpsetEntries;
  readonly lbNoNodeAccess: readonly LbNoNodeAccess[];
}

/** `ip,proto:port` (hash:ip,port), the upstream Entry.String() forms. */
const ipPort = (ip: string, proto: string, port: number): string => `${ip},${proto}:${port}`;

/** One service port's entries: `[set base name, entry]`, maybe repeated (counted, not deduplicated). */
export interface PortIpsetEntries {
  readonly entries: readonly (readonly [string, string])[];
  readonly lbNoNodeAccess: readonly LbNoNodeAccess[];
}

/** The entries one service port puts in the sets, except KUBE-IPVS-IPS (the bound addresses). */
export function portIpsetEntries(svc: ServicePort, eps: readonly Endpoint[], nodeIPs: readonly string[]): PortIpsetEntries {
  const entries: (readonly [string, string])[] = [];
  const put = (set: string, entry: string): void => void entries.push([set, entry]);
  const lbNoNodeAccess: LbNoNodeAccess[] = [];
  const proto = svc.protocol.toLowerCase();
  if (svc.clusterIP !== '') put('KUBE-CLUSTER-IP', ipPort(svc.clusterIP, proto, svc.port));
  // Hairpin: a local pod reaching itself through the Service is masqueraded (upstream loopback set).
  for (const ep of eps) {
    if (ep.isLocal) put('KUBE-LOOP-BACK', `${ep.ip},${proto}:${ep.port},${ep.ip}`);
  }
  for (const ip of svc.externalIPs) put(svc.externalPolicyLocal ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP', ipPort(ip, proto, svc.port));
  for (const ip of svc.loadBalancerVIPs) {
    const e = ipPort(ip, proto, svc.port);
    put('KUBE-LOAD-BALANCER', e);
    if (svc.externalPolicyLocal) put('KUBE-LOAD-BALANCER-LOCAL', e);
    if (svc.loadBalancerSourceRanges.length === 0) continue;
    put('KUBE-LOAD-BALANCER-FW', e);
    let allowFromNode = false;
    for (const cidr of svc.loadBalancerSourceRanges) {
      put('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${e},${cidr}`);
      if (nodeIPs.some((n) => cidrContains(cidr, n))) allowFromNode = true;
    }
    // The node reaches its own LB VIP with the VIP as source (kube-ipvs0): allow it when a range
    // covers the node, else keep it out (kubernetes#119656).
    if (allowFromNode) put('KUBE-LOAD-BALANCER-SOURCE-IP', `${e},${ip}`);
    else lbNoNodeAccess.push({ ip, protocol: proto, port: svc.port });
  }
  if (svc.nodePort !== 0) {
    if (svc.protocol === 'SCTP') {
      for (const n of nodeIPs) {
        put('KUBE-NODE-PORT-SCTP-HASH', ipPort(n, 'sctp', svc.nodePort));
        if (svc.externalPolicyLocal) put('KUBE-NODE-PORT-LOCAL-SCTP-HASH', ipPort(n, 'sctp', svc.nodePort));
      }
    } else {
      put(`KUBE-NODE-PORT-${svc.protocol}`, String(svc.nodePort));
      if (svc.externalPolicyLocal) put(`KUBE-NODE-PORT-LOCAL-${svc.protocol}`, String(svc.nodePort));
    }
  }
  if (svc.healthCheckNodePort !== 0) put('KUBE-HEALTH-CHECK-NODE-PORT', String(svc.healthCheckNodePort));
  return { entries, lbNoNodeAccess };
}

export function ipsetEntries(state: ProxyState, plan: IpvsPlan, nodeIPs: readonly string[]): IpsetPlan {
  const sets = new Map<string, Set<string>>(IPSETS.map((d) => [d.base, new Set<string>()]));
  const lbNoNodeAccess: LbNoNodeAccess[] = [];
  for (const [name, svc] of state.services) {
    if (!plan.byServicePort.has(name)) continue;
    const port = portIpsetEntries(svc, state.endpoints.get(name) ?? [], nodeIPs);
    for (const [set, entry] of port.entries) sets.get(set)?.add(entry);
    lbNoNodeAccess.push(...port.lbNoNodeAccess);
  }
  for (const a of plan.boundAddresses) sets.get('KUBE-IPVS-IPS')?.add(a);
  return { entries: sets, lbNoNodeAccess };
}

/** The `ipset create` arguments (upstream: hashsize 1024 maxelem 65536; bitmaps range 0-65535). */
function createArgs(def: IpsetDef, family: IPFamily): string {
  if (def.type === 'bitmap:port') return `${def.type} range 0-65535`;
  return `${def.type} family ${family === 'IPv4' ? 'inet' : 'inet6'} hashsize 1024 maxelem 65536`;
}

const sorted = (s: ReadonlySet<string> | undefined): string[] => [...(s ?? [])].sort();

/**
 * One `ipset restore -exist` script. Without `previous` (full sync): each set is filled in a
 * temporary set and swapped in. With `previous` (the entries of the last script that succeeded):
 * only add/del lines for what changed. Returns '' when a partial sync has nothing to change.
 */
export function renderIpsetRestore(family: IPFamily, entries: IpsetEntries, previous?: IpsetEntries): string {
  const lines: string[] = [];
  IPSETS.forEach((def, i) => {
    const name = setName(def.base, family);
    const want = entries.get(def.base) ?? new Set<string>();
    if (previous === undefined) {
      // A short temporary name: the real names come close to ipset's 31-character limit.
      const tmp = setName(`KUBE-TMP-${String(i).padStart(2, '0')}`, family);
      lines.push(`create ${name} ${createArgs(def, family)}`, `create ${tmp} ${createArgs(def, family)}`, `flush ${tmp}`);
      for (const e of sorted(want)) lines.push(`add ${tmp} ${e}`);
      lines.push(`swap ${tmp} ${name}`, `destroy ${tmp}`);
      return;
    }
    const had = previous.get(def.base) ?? new Set<string>();
    for (const e of sorted(had)) if (!want.has(e)) lines.push(`del ${name} ${e}`);
    for (const e of sorted(want)) if (!had.has(e)) lines.push(`add ${name} ${e}`);
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The add/del lines for entries that appeared or went (a partial sync); '' when none did. */
export function renderIpsetDelta(family: IPFamily, delta: ReadonlyMap<string, { readonly add: readonly string[]; readonly del: readonly string[] }>): string {
  const lines: string[] = [];
  for (const def of IPSETS) {
    const d = delta.get(def.base);
    if (d === undefined) continue;
    const name = setName(def.base, family);
    for (const e of [...d.del].sort()) lines.push(`del ${name} ${e}`);
    for (const e of [...d.add].sort()) lines.push(`add ${name} ${e}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Names of every set of the family (for clean-up: `ipset destroy`). */
export function allSetNames(family: IPFamily): string[] {
  return IPSETS.map((d) => setName(d.base, family));
}

export function isSetEmpty(entries: IpsetEntries, base: string): boolean {
  return (entries.get(base)?.size ?? 0) === 0;
}
