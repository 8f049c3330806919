// Jumps from built-in chains, which kube-proxy never writes with iptables-restore (that would
// replace everyone else's rules in PREROUTING etc.): upstream iptablesJumpChains and
// iptablesKubeletJumpChains, ensured with `iptables -C` / `iptables -I CHAIN 1` on full syncs
// only, and deleted by --cleanup. Also the canary chains used to detect external flushes.

export type Table = 'filter' | 'nat' | 'mangle';

export interface JumpRule {
  readonly table: Table;
  /** The built-in chain the rule is inserted into. */
  readonly chain: string;
  /** The chain jumped to; ensure it exists (`iptables -N`) before inserting the jump. */
  readonly target: string;
  /** Rule arguments after the chain name, exactly as for `iptables -t TABLE -I CHAIN 1 ARGS`. */
  readonly args: readonly string[];
}

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

export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';
/** Upstream ipt.Monitor creates the canary in all three tables (and polls mangle). */
export const CANARY_TABLES: readonly Table[] = ['mangle', 'nat', 'filter'];

/** Render a rule's args as one iptables-restore line fragment (quoting spaces), e.g. for built-in chains in tests. */
export function argsToRestore(args: readonly string[]): string {
  return args.map((a) => (a.includes(' ') || a === '' ? `"${a}"` : a)).join(' ');
}
