// Everything the nftables renderer needs beyond ProxyState, resolved for one family: the
// masquerade mark, the local-traffic detector as nft fragments, which addresses serve
// NodePorts, the node IP (firewall allow-from-node) and the ServiceCIDRs of the family.
import type { ProxyConfig } from '../../config/types.ts';
import type { IPFamily, NodeInfo } from '../../model/types.ts';
import { masqueradeMark } from '../common/masquerade-mark.ts';
import { cidrContains, familyOf } from '../../model/ip.ts';
import { localTrafficDetector, type LocalTrafficDetector } from '../common/local-detector.ts';
import { resolveNodePortAddresses } from '../common/node-port-addresses.ts';
import { selectNodePortAddresses, DEFAULT_RENDER_OPTIONS } from '../iptables/options.ts';

/** upstream proxyutil LocalTrafficDetector IfLocalNFT / IfNotLocalNFT. */
export interface NftLocalDetector {
  /** e.g. `ip saddr 10.0.0.0/8`, `iifname "cbr0"`, `iifname "veth*"`. */
  readonly ifLocal: string;
  readonly ifNotLocal: string;
}

export interface NftOptions {
  readonly family: IPFamily;
  /** `%#08x` of 1<<masqueradeBit, as upstream (`0x00004000`); goldens use upstream's fake `0x4000`. */
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  readonly localDetector: NftLocalDetector | null;
  /** NodePorts are accepted on every local address (the nodeport-ips set is not used). */
  readonly nodePortMatchAll: boolean;
  /** When !nodePortMatchAll: the addresses in nodeport-ips (loopback never: upstream skips it). */
  readonly nodePortIPs: readonly string[];
  /** The node's primary IP of the family ('' when unknown): allow-from-node in firewall chains. */
  readonly nodeIP: string;
  /** ServiceCIDRs of this family (parsed, normalised); the unallocated-ClusterIP drop rule needs some. */
  readonly serviceCIDRs: readonly string[];
  /** One `add element` line per container (true) or per element, as knftables writes (goldens). */
  readonly batchElements: boolean;
}

/** upstream `%#08x` of 1<<bit (common/masquerade-mark.ts). */
export const nftMark = masqueradeMark;

export function ipKeyword(family: IPFamily): 'ip' | 'ip6' {
  return family === 'IPv6' ? 'ip6' : 'ip';
}

/** Quote an interface name for nft (`iifname "eth0"`). */
const ifname = (s: string): string => `"${s.replace(/["\\]/g, '')}"`;

/** The common detector (backends/common/local-detector.ts) in nft syntax: IfLocalNFT / IfNotLocalNFT. */
export function nftLocalMatch(d: LocalTrafficDetector | null, family: IPFamily): NftLocalDetector | null {
  if (d === null) return null;
  if (d.kind === 'cidr') return { ifLocal: `${ipKeyword(family)} saddr ${d.cidr}`, ifNotLocal: `${ipKeyword(family)} saddr != ${d.cidr}` };
  // Since v1.35 (#134024) interfaces are matched by name (iifname), so a re-created veth still matches.
  const name = ifname(d.kind === 'interface' ? d.name : `${d.prefix}*`);
  return { ifLocal: `iifname ${name}`, ifNotLocal: `iifname != ${name}` };
}

export function nftLocalDetector(config: ProxyConfig, family: IPFamily, node: NodeInfo): NftLocalDetector | null {
  return nftLocalMatch(localTrafficDetector(config, family, node), family);
}

export interface NftHostFacts {
  /** The node's IPs of the family, primary first. */
  readonly nodeIPs: readonly string[];
  /** Every local address (nodePortAddresses matching, upstream GetNodeIPs). */
  readonly localAddresses: readonly string[];
  readonly serviceCIDRs: readonly string[];
}

const isLoopback = (ip: string): boolean => ip === '::1' || ip.startsWith('127.');

export function nftOptionsFromConfig(config: ProxyConfig, family: IPFamily, node: NodeInfo, host: NftHostFacts): NftOptions {
  const nodePortAddresses = resolveNodePortAddresses(config.nodePortAddresses, host.nodeIPs);
  const sel = selectNodePortAddresses({ ...DEFAULT_RENDER_OPTIONS, nodePortAddresses, localAddresses: host.localAddresses }, family);
  return {
    family,
    masqueradeMark: nftMark(config.nftables.masqueradeBit),
    masqueradeAll: config.nftables.masqueradeAll,
    localDetector: nftLocalDetector(config, family, node),
    nodePortMatchAll: sel.matchAll,
    nodePortIPs: sel.addresses.filter((a) => !isLoopback(a)),
    nodeIP: host.nodeIPs[0] ?? '',
    serviceCIDRs: host.serviceCIDRs.filter((c) => familyOf(c) === family),
    batchElements: true,
  };
}

export { cidrContains };
