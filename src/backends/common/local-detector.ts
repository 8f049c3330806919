// The local-traffic detector (upstream proxyutil.LocalTrafficDetector, cmd/kube-proxy
// getLocalDetector) as data: which source counts as "from a pod on this node" for one family.
// Each mode spells it in its own syntax; the iptables spelling (`-s 10.0.0.0/8`, `-i cbr0`,
// `-i veth+`) is here because the iptables and ipvs modes both write iptables rules, an nftables
// mode writes `ip saddr 10.0.0.0/8` / `iifname "veth*"` from the same data. Pure.
import type { ProxyConfig } from '../../config/types.ts';
import { familyOf } from '../../model/ip.ts';
import type { IPFamily, NodeInfo } from '../../model/types.ts';

export type LocalTrafficDetector =
  /** Traffic from this CIDR (ClusterCIDR, NodeCIDR). */
  | { readonly kind: 'cidr'; readonly cidr: string }
  /** Traffic arriving on this interface (BridgeInterface). */
  | { readonly kind: 'interface'; readonly name: string }
  /** Traffic arriving on an interface whose name starts so (InterfaceNamePrefix). */
  | { readonly kind: 'interface-prefix'; readonly prefix: string };

/** upstream getLocalDetector: the first CIDR of the family, or an interface; null when none applies. */
export function localTrafficDetector(config: ProxyConfig, family: IPFamily, node: NodeInfo): LocalTrafficDetector | null {
  switch (config.detectLocalMode) {
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const cidrs = config.detectLocalMode === 'ClusterCIDR' ? config.clusterCIDRs : node.podCIDRs;
      const cidr = cidrs.find((c) => familyOf(c) === family);
      return cidr === undefined ? null : { kind: 'cidr', cidr };
    }
    case 'BridgeInterface': {
      const name = config.detectLocal.bridgeInterface;
      return name === '' ? null : { kind: 'interface', name };
    }
    case 'InterfaceNamePrefix': {
      const prefix = config.detectLocal.interfaceNamePrefix;
      return prefix === '' ? null : { kind: 'interface-prefix', prefix };
    }
  }
}

/** The detector as iptables rule fragments. */
export interface IptablesLocalMatch {
  /** e.g. `-s 10.0.0.0/8`, `-i cbr0`, `-i veth+`. */
  readonly ifLocal: string;
  /** e.g. `! -s 10.0.0.0/8`. */
  readonly ifNotLocal: string;
}

export function iptablesLocalMatch(d: LocalTrafficDetector | null): IptablesLocalMatch | null {
  if (d === null) return null;
  const m = d.kind === 'cidr' ? `-s ${d.cidr}` : d.kind === 'interface' ? `-i ${d.name}` : `-i ${d.prefix}+`;
  return { ifLocal: m, ifNotLocal: `! ${m}` };
}
