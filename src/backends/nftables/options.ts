// Everything the nftables renderer needs beyond ProxyState, resolved for one family: the
// masquerade mark, the local-traffic detector as nft fragments, which addresses serve
// NodePorts, the node IP (firewall allow-from-node) and the ServiceCIDRs of the family.
import type { ProxyConfig } from '../../config/types.ts';
import type { IPFamily, NodeInfo } from '../../model/types.ts';
import { cidrContains, familyOf, resolveNodePortAddresses, selectNodePortAddresses, DEFAULT_RENDER_OPTIONS } from '../iptables/options.ts';

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

export function nftMark(bit: number): string {
  return '0x' + (2 ** bit).toString(16).padStart(8, '0');
}

export function ipKeyword(family: IPFamily): 'ip' | 'ip6' {
  return family === 'IPv6' ? 'ip6' : 'ip';
}

/** Quote an interface name for nft (`iifname "eth0"`). */
const ifname = (s: string): string => `"${s.replace(/["\\]/g, '')}"`;

/** upstream cmd/kube-proxy getLocalDetector with the NFT fragments of pkg/proxy/util/localdetector.go. */
export function nftLocalDetector(config: ProxyConfig, family: IPFamily, node: NodeInfo): NftLocalDetector | null {
  const ip = ipKeyword(family);
  switch (config.detectLocalMode) {
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const cidrs = config.detectLocalMode === 'ClusterCIDR' ? config.clusterCIDRs : node.podCIDRs;
      const cidr = cidrs.find((c) => familyOf(c) === family);
      return cidr === undefined ? null : { ifLocal: `${ip} saddr ${cidr}`, ifNotLocal: `${ip} saddr != ${cidr}` };
    }
    case 'BridgeInterface': {
      const i = config.detectLocal.bridgeInterface;
      return i === '' ? null : { ifLocal: `iifname ${ifname(i)}`, ifNotLocal: `iifname != ${ifname(i)}` };
    }
    case 'InterfaceNamePrefix': {
      const p = config.detectLocal.interfaceNamePrefix;
      return p === '' ? null : { ifLocal: `iifname ${ifname(`${p}*`)}`, ifNotLocal: `iifname != ${ifname(`${p}*`)}` };
    }
  }
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
