// The iptables mode's jumps from built-in chains: upstream iptablesJumpChains and
// iptablesKubeletJumpChains, ensured on full syncs only, and deleted by --cleanup.
import { argsToRestore, CANARY_CHAIN, CANARY_TABLES, type JumpRule, type Table } from '../common/jump-rule.ts';

export { argsToRestore, CANARY_CHAIN, CANARY_TABLES, type JumpRule, type Table };

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'] as const;

function jump(table: Table, target: string, chain: string, comment: string, extra: readonly string[] = []): JumpRule {
  const args = [...extra];
  if (comment !== '') args.push('-m', 'comment', '--comment', comment);
  args.push('-j', target);
  return { table, chain, target, args };
}

/** In upstream's order; each is prepended, so later entries end up first in the chain. */
export function requiredJumps(): readonly JumpRule[] {
  return [
    jump('filter', 'KUBE-EXTERNAL-SERVICES', 'INPUT', 'kubernetes externally-visible service portals', NEW),
    jump('filter', 'KUBE-EXTERNAL-SERVICES', 'FORWARD', 'kubernetes externally-visible service portals', NEW),
    jump('filter', 'KUBE-NODEPORTS', 'INPUT', 'kubernetes health check service ports'),
    jump('filter', 'KUBE-SERVICES', 'FORWARD', 'kubernetes service portals', NEW),
    jump('filter', 'KUBE-SERVICES', 'OUTPUT', 'kubernetes service portals', NEW),
    jump('filter', 'KUBE-FORWARD', 'FORWARD', 'kubernetes forwarding rules'),
    jump('filter', 'KUBE-PROXY-FIREWALL', 'INPUT', 'kubernetes load balancer firewall', NEW),
    jump('filter', 'KUBE-PROXY-FIREWALL', 'OUTPUT', 'kubernetes load balancer firewall', NEW),
    jump('filter', 'KUBE-PROXY-FIREWALL', 'FORWARD', 'kubernetes load balancer firewall', NEW),
    jump('nat', 'KUBE-SERVICES', 'OUTPUT', 'kubernetes service portals'),
    jump('nat', 'KUBE-SERVICES', 'PREROUTING', 'kubernetes service portals'),
    jump('nat', 'KUBE-POSTROUTING', 'POSTROUTING', 'kubernetes postrouting rules'),
  ];
}

/** Copies of kubelet's jumps (created, never deleted by cleanup). */
export function kubeletJumps(): readonly JumpRule[] {
  return [jump('filter', 'KUBE-FIREWALL', 'INPUT', ''), jump('filter', 'KUBE-FIREWALL', 'OUTPUT', '')];
}
