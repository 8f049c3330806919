// The chains the iptables mode writes, for recognising its leftovers when another mode starts
// (src/backends/common/foreign-chains.ts). Pure.
import type { ModeChains } from '../common/foreign-chains.ts';
import { isServiceChainName } from './chain-names.ts';
import { CANARY_CHAIN, requiredJumps } from './jumps.ts';

export const IPTABLES_CHAINS: ModeChains = {
  fixed: {
    nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', CANARY_CHAIN],
    filter: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', CANARY_CHAIN],
    mangle: [CANARY_CHAIN],
  },
  generated: { nat: isServiceChainName },
  jumps: requiredJumps(),
};
