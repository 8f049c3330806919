// Whether --cleanup removes filter KUBE-FIREWALL. The iptables mode writes it (the CVE-2020-8558
// "block incoming localnet connections" rule, render-assemble.ts) with jumps from INPUT and
// OUTPUT, copies of what the kubelet used to own (upstream iptablesKubeletJumpChains). Upstream's
// CleanupLeftovers leaves it for the kubelet; on a decommissioned node it is ours alone and would
// keep dropping localnet traffic. So it goes when it holds only that rule and no kubelet manages
// iptables here (kubelet creates KUBE-KUBELET-CANARY in mangle, nat and filter while it does);
// otherwise it stays, and the log says why. Pure.
export const KUBE_FIREWALL_CHAIN = 'KUBE-FIREWALL';
export const KUBELET_CANARY_CHAIN = 'KUBE-KUBELET-CANARY';
const LOCALNET_COMMENT = '"block incoming localnet connections"';

export type KubeFirewallVerdict =
  /** No KUBE-FIREWALL in filter. */
  | 'absent'
  /** Only our rule and no kubelet: removed. */
  | 'remove'
  /** A kubelet manages iptables (its canary exists): kept for it. */
  | 'kept-kubelet'
  /** Rules in it that are not ours (an older kubelet's mark drop, an admin's): kept. */
  | 'kept-foreign-rules';

export interface KubeFirewallPlan {
  readonly verdict: KubeFirewallVerdict;
  /** Restore text for the filter table, '' unless the verdict is 'remove'. */
  readonly payload: string;
}

/** Our localnet rule as iptables-save prints it (the match order differs between back-ends). */
function isOurRule(line: string): boolean {
  return line.includes(LOCALNET_COMMENT) && / -d 127\.0\.0\.0\/8( |$)/.test(line) && / -j DROP\s*$/.test(line);
}

/**
 * `filterSaved`: `iptables-save -t filter`; `kubeletCanary`: whether KUBE-KUBELET-CANARY exists in
 * any table. The payload deletes every rule jumping to KUBE-FIREWALL by its saved text, then
 * flushes and deletes the chain.
 */
export function planKubeFirewallCleanup(filterSaved: string, kubeletCanary: boolean): KubeFirewallPlan {
  if (!filterSaved.split('\n').some((l) => l.startsWith(`:${KUBE_FIREWALL_CHAIN} `))) return { verdict: 'absent', payload: '' };
  const own = `-A ${KUBE_FIREWALL_CHAIN} `;
  const lines = filterSaved.split('\n').filter((l) => l.startsWith('-A '));
  if (lines.some((l) => l.startsWith(own) && !isOurRule(l))) return { verdict: 'kept-foreign-rules', payload: '' };
  if (kubeletCanary) return { verdict: 'kept-kubelet', payload: '' };
  const jumps = lines.filter((l) => !l.startsWith(own) && new RegExp(` -[jg] ${KUBE_FIREWALL_CHAIN}(\\s|$)`).test(l));
  const payload = ['*filter', ...jumps.map((l) => `-D ${l.slice(3)}`), `:${KUBE_FIREWALL_CHAIN} - [0:0]`, `-X ${KUBE_FIREWALL_CHAIN}`, 'COMMIT', ''];
  return { verdict: 'remove', payload: payload.join('\n') };
}
