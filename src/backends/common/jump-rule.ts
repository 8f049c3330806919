// A rule in a built-in chain jumping into one of ours, and the canary chains: the iptables
// vocabulary every mode that writes iptables shares (iptables, ipvs, userspace). kube-proxy never
// writes built-in chains with iptables-restore (that would replace everyone else's rules in
// PREROUTING etc.): jumps are ensured with `-C` / `-I CHAIN 1` on full syncs and deleted by --cleanup.

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

export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';
/** Upstream ipt.Monitor creates the canary in all three tables (and polls mangle). */
export const CANARY_TABLES: readonly Table[] = ['mangle', 'nat', 'filter'];

/** Render a rule's args as one iptables-restore line fragment (quoting spaces), e.g. for built-in chains in tests. */
export function argsToRestore(args: readonly string[]): string {
  return args.map((a) => (a.includes(' ') || a === '' ? `"${a}"` : a)).join(' ');
}
