// The chains the ipvs mode writes, for recognising its leftovers when another mode starts
// (src/backends/common/foreign-chains.ts). Pure.
import type { ModeChains } from '../common/foreign-chains.ts';
import { FILTER_CHAINS, NAT_CHAINS, ipvsJumps } from './rules.ts';

export const IPVS_CHAINS: ModeChains = {
  // Upstream ipvs mode before v1.23 also had a nat KUBE-FIREWALL (LoadBalancer source ranges);
  // in filter that name is kubelet's, so only the nat one is listed.
  fixed: { nat: [...NAT_CHAINS, 'KUBE-FIREWALL'], filter: [...FILTER_CHAINS], mangle: [] },
  generated: {},
  jumps: ipvsJumps(),
};
