// Jumps from built-in chains and the canary chains, ensured on every full sync with one probe
// (src/system/iptables-probe.ts: every `-C` jump and `-S` canary in one iptables-restore that
// writes nothing) and only when something is missing one command at a time as upstream does
// (pkg/proxy/iptables/proxier.go syncProxyRules: EnsureChain + EnsureRule(Prepend) per jump;
// pkg/util/iptables Monitor: EnsureChain of the canary per table). Whether a rule is there is
// iptables' own `-C` answer, so any spelling of an equal rule counts, as upstream.
import type { Iptables } from '../../../system/iptables.ts';
import type { Probe, ProbeLine } from '../../../system/iptables-probe.ts';
import { argsToRestore, CANARY_CHAIN, CANARY_TABLES, type JumpRule } from '../jumps.ts';

/** The probe's questions: each canary chain exists, then each jump rule is there. Pure. */
export function builtinsProbeLines(jumps: readonly JumpRule[], canaryTables: readonly string[] = CANARY_TABLES): ProbeLine[] {
  return [
    ...canaryTables.map((table) => ({ table, line: `-S ${CANARY_CHAIN}` })),
    ...jumps.map((j) => ({ table: j.table, line: `-C ${j.chain} ${argsToRestore(j.args)}` })),
  ];
}

/**
 * Ensures `jumps` (each target chain, then the rule prepended) and the canary chains. Returns true
 * when the probe found everything present (one process, nothing written), false when the slow path
 * ran. A jump is never deleted and re-added, so traffic never passes a moment without it.
 */
export async function ensureBuiltins(ipt: Iptables, probe: Probe, jumps: readonly JumpRule[]): Promise<boolean> {
  if (await probe(builtinsProbeLines(jumps))) return true;
  for (const j of jumps) {
    await ipt.ensureChain(j.table, j.target);
    await ipt.ensureRule('prepend', j.table, j.chain, j.args);
  }
  for (const t of CANARY_TABLES) await ipt.ensureChain(t, CANARY_CHAIN);
  return false;
}
