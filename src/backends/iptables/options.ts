// Render options: everything the iptables renderer needs beyond ProxyState, already resolved
// for one IP family. Derived from ProxyConfig plus facts only the host knows (interface
// addresses, --random-fully support, tcp_be_liberal, nfacct counters), which the applier
// gathers and passes in so the renderer stays pure.
import type { ProxyConfig } from '../../config/types.ts';
import { cidrContains, familyOf, parseCidrStrict } from '../../model/ip.ts';
import type { IPFamily, NodeInfo } from '../../model/types.ts';
import { iptablesLocalMatch, localTrafficDetector, type IptablesLocalMatch } from '../common/local-detector.ts';
import { masqueradeMark } from '../common/masquerade-mark.ts';
import { resolveNodePortAddresses } from '../common/node-port-addresses.ts';

export { cidrContains, familyOf, masqueradeMark, resolveNodePortAddresses };

/** The local-traffic detector (common/local-detector.ts) as iptables rule fragments. */
export type LocalDetector = IptablesLocalMatch;

export interface NfacctCounters {
  /** upstream metrics.LocalhostNodePortAcceptedNFAcctCounter exists. */
  readonly localhostNodePortsAccepted: boolean;
  /** upstream metrics.IPTablesCTStateInvalidDroppedNFAcctCounter exists. */
  readonly invalidDropped: boolean;
}

export interface RenderOptions {
  /** The mark as upstream formats it (`%#08x` of 1<<bit, e.g. `0x00004000`). */
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  /** null: detector not implemented for this family (no cluster CIDR of it, ...). */
  readonly localDetector: LocalDetector | null;
  /** As configured; the renderer forces it off for IPv6 and when nodePortAddresses excludes loopback. */
  readonly localhostNodePorts: boolean;
  /** nodePortAddresses CIDRs (any family; 'primary' already resolved). Empty: all local addresses. */
  readonly nodePortAddresses: readonly string[];
  /** This node's IPs of the family, primary first (KUBE-FW "allow from node"). */
  readonly nodeIPs: readonly string[];
  /** Every local interface address (for nodePortAddresses matching, upstream GetNodeIPs). */
  readonly localAddresses: readonly string[];
  /** iptables supports MASQUERADE --random-fully. */
  readonly randomFully: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal is set: no INVALID drop rule. */
  readonly conntrackTCPLiberal: boolean;
  readonly nfacct: NfacctCounters;
  /** Above this many endpoints, per-endpoint comments are dropped (upstream: 1000). */
  readonly largeClusterEndpointsThreshold: number;
  /**
   * nat chains that exist in the kernel now (from iptables-save), when known. Stale service
   * chains among them are deleted, as upstream does; with a memo the memo suffices.
   */
  readonly existingNatChains?: readonly string[];
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = {
  masqueradeMark: masqueradeMark(14),
  masqueradeAll: false,
  localDetector: null,
  localhostNodePorts: true,
  nodePortAddresses: [],
  nodeIPs: [],
  localAddresses: [],
  randomFully: false,
  conntrackTCPLiberal: false,
  nfacct: { localhostNodePortsAccepted: false, invalidDropped: false },
  largeClusterEndpointsThreshold: 1000,
};

/** upstream cmd/kube-proxy getLocalDetector, spelled for iptables. */
export function localDetectorFor(config: ProxyConfig, family: IPFamily, node: NodeInfo): LocalDetector | null {
  return iptablesLocalMatch(localTrafficDetector(config, family, node));
}

/** What the applier learns from the host for one family. */
export interface HostFacts {
  readonly nodeIPs: readonly string[];
  readonly localAddresses: readonly string[];
  readonly randomFully: boolean;
  readonly conntrackTCPLiberal: boolean;
  readonly nfacct: NfacctCounters;
  readonly existingNatChains?: readonly string[];
}

export function renderOptionsFromConfig(config: ProxyConfig, family: IPFamily, node: NodeInfo, host: HostFacts): RenderOptions {
  const base = {
    masqueradeMark: masqueradeMark(config.iptables.masqueradeBit),
    masqueradeAll: config.iptables.masqueradeAll,
    localDetector: localDetectorFor(config, family, node),
    localhostNodePorts: config.iptables.localhostNodePorts,
    nodePortAddresses: resolveNodePortAddresses(config.nodePortAddresses, host.nodeIPs),
    nodeIPs: host.nodeIPs,
    localAddresses: host.localAddresses,
    randomFully: host.randomFully,
    conntrackTCPLiberal: host.conntrackTCPLiberal,
    nfacct: host.nfacct,
    largeClusterEndpointsThreshold: DEFAULT_RENDER_OPTIONS.largeClusterEndpointsThreshold,
  };
  return host.existingNatChains === undefined ? base : { ...base, existingNatChains: host.existingNatChains };
}

/** upstream proxyutil.NodePortAddresses, for one family. */
export interface NodePortSelection {
  readonly matchAll: boolean;
  readonly containsIPv4Loopback: boolean;
  /** When !matchAll: the local addresses NodePorts are served on (upstream GetNodeIPs). */
  readonly addresses: readonly string[];
}

const parseCidr = parseCidrStrict;

export function selectNodePortAddresses(opts: RenderOptions, family: IPFamily): NodePortSelection {
  const cidrs = opts.nodePortAddresses.filter((c) => familyOf(c) === family && parseCidr(c) !== null);
  if (cidrs.length === 0) cidrs.push(family === 'IPv4' ? '0.0.0.0/0' : '::/0');
  let matchAll = false;
  let containsIPv4Loopback = false;
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p === null) continue;
    if (p[0].kind() === 'ipv4' && (p[0].range() === 'loopback' || cidrContains(c, '127.0.0.1'))) containsIPv4Loopback = true;
    if (p[1] === 0) matchAll = true;
  }
  const addresses = matchAll
    ? []
    : opts.localAddresses.filter((a) => familyOf(a) === family && cidrs.some((c) => cidrContains(c, a)));
  return { matchAll, containsIPv4Loopback, addresses };
}
