// Jumps from built-in chains and the canary chains, ensured on every full sync without a process
// per question. The first full sync asks them all in one probe (Iptables.probe: every `-C` jump
// and `-S` canary in one iptables-restore that writes nothing); later ones ask them inside their
// own restore (withProbedBuiltins, restore-checks.ts). Only when something is missing (first
// start, tables flushed, a jump deleted) is each table saved once, and what is missing is written
// in one iptables-restore, in the order upstream ensures it one command at a time
// (pkg/proxy/iptables/proxier.go syncProxyRules: EnsureChain + EnsureRule(Prepend) per jump;
// pkg/util/iptables Monitor: EnsureChain of the canary per table). Whether a rule is there is
// iptables' own `-C` answer whenever the saved text does not show it in our spelling, so an equal
// rule spelled otherwise counts, as upstream.
import type { Iptables } from '../../../system/iptables.ts';
import { savedChains } from '../../../system/iptables.ts';
import { probePayload, type ProbeLine } from '../../../system/iptables-probe.ts';
import type { RulesApplier } from '../iptables-rules-applier.ts';
import { argsToRestore, CANARY_CHAIN, CANARY_TABLES, type JumpRule, type Table } from '../jump-rule.ts';
import { withChecks } from './restore-checks.ts';

/** The probe's questions: each canary chain exists, then each jump rule is there. Pure. */
export function builtinsProbeLines(jumps: readonly JumpRule[], canaryTables: readonly string[] = CANARY_TABLES): ProbeLine[] {
  return [
    ...canaryTables.map((table) => ({ table, line: `-S ${CANARY_CHAIN}` })),
    ...jumps.map((j) => ({ table: j.table, line: `-C ${j.chain} ${argsToRestore(j.args)}` })),
  ];
}

/** One table as iptables-save shows it: its chains, and the rules of the chains we jump from (`sources`). */
export interface SavedTable {
  readonly chains: Set<string>;
  readonly rules: Set<string>;
}

export function savedTable(saved: string, sources: ReadonlySet<string>): SavedTable {
  const rules = new Set<string>();
  for (const line of saved.split('\n')) {
    if (line.startsWith('-A ') && sources.has(line.slice(3, line.indexOf(' ', 3)))) rules.add(line.trimEnd());
  }
  return { chains: new Set(savedChains(saved)), rules };
}

/**
 * The `-N`/`-I` lines that make `saved` hold every jump (target chain first) and canary. `check`
 * is asked only for a jump whose target chain exists but whose rule is not saved verbatim. Pure
 * apart from `check`; exported for tests.
 */
export async function missingBuiltins(
  jumps: readonly JumpRule[], saved: ReadonlyMap<string, SavedTable>, check: (table: string, line: string) => Promise<boolean>,
  canaryTables: readonly Table[] = CANARY_TABLES,
): Promise<ProbeLine[]> {
  const out: ProbeLine[] = [];
  const tables = new Map<string, SavedTable>();
  const table = (t: string): SavedTable => {
    let s = tables.get(t);
    if (s === undefined) {
      const was = saved.get(t);
      s = { chains: new Set(was?.chains), rules: new Set(was?.rules) };
      tables.set(t, s);
    }
    return s;
  };
  /** Chains this batch creates: a jump to one cannot be there yet, so `check` is not asked. */
  const created = new Set<string>();
  for (const j of jumps) {
    const s = table(j.table);
    const args = argsToRestore(j.args);
    if (!s.chains.has(j.target)) {
      out.push({ table: j.table, line: `-N ${j.target}` });
      s.chains.add(j.target);
      created.add(`${j.table} ${j.target}`);
    }
    const known = s.rules.has(`-A ${j.chain} ${args}`) || (!created.has(`${j.table} ${j.target}`) && (await check(j.table, `-C ${j.chain} ${args}`)));
    if (known) continue;
    out.push({ table: j.table, line: `-I ${j.chain} 1 ${args}` });
    s.rules.add(`-A ${j.chain} ${args}`);
  }
  for (const t of canaryTables) if (!table(t).chains.has(CANARY_CHAIN)) out.push({ table: t, line: `-N ${CANARY_CHAIN}` });
  return out;
}

/**
 * Ensures `jumps` and the canary chains. Returns true when the probe found everything present
 * (one process, nothing written), false when something was written. A jump is never deleted and
 * re-added, so traffic never passes a moment without it.
 */
export async function ensureBuiltins(ipt: Iptables, jumps: readonly JumpRule[], canaryTables: readonly Table[] = CANARY_TABLES): Promise<boolean> {
  if (await ipt.probe(builtinsProbeLines(jumps, canaryTables))) return true;
  const sources = new Set(jumps.map((j) => j.chain));
  const saved = new Map<string, SavedTable>();
  for (const t of new Set<Table>([...jumps.map((j) => j.table), ...canaryTables])) saved.set(t, savedTable(await ipt.save(t), sources));
  const lines = await missingBuiltins(jumps, saved, (table, line) => ipt.probe([{ table, line }]), canaryTables);
  if (lines.length > 0) await ipt.restore(probePayload(lines));
  return false;
}

/**
 * The canary poll of a partial sync, as upstream's Monitor does it (pkg/util/iptables/iptables.go:
 * "it polls tables[0] every interval until the canary has been deleted from there … You can
 * optimize the polling by listing a relatively empty table in tables[0]"): mangle only, which is
 * nearly empty, where reading nat with iptables-legacy costs ~0.1 s at 2,000 Services. A flush
 * that spares mangle goes unseen until the next full sync re-ensures everything, as upstream.
 */
export function canaryPresent(ipt: Iptables): Promise<boolean> {
  return ipt.chainExists(CANARY_TABLES[0] ?? 'mangle', CANARY_CHAIN);
}

/**
 * `applier` with the jumps and canaries of a full sync ensured cheaply, and the canary polled in
 * mangle only (canaryPresent). The first full sync probes (ensureBuiltins); once that has seen or
 * made everything, later full syncs ask the same questions inside their own restore
 * (restore-checks.ts), which costs no process and no extra read of a table; if the restore fails
 * and ensureBuiltins finds something missing, nothing of that table was committed: it repairs and
 * the restore runs again without checks.
 * ensureJumps covers the canaries, so the proxier's ensureCanary right after it costs nothing;
 * called without it, ensureCanary ensures them as before. Everything else is `applier`'s own.
 * Every mode that ensures jumps from built-in chains does it through here (the iptables mode with
 * the canaries, the ipvs mode, which has none, with `canaryTables` empty).
 */
export function withProbedBuiltins(applier: RulesApplier, ipt: Iptables, canaryTables: readonly Table[] = CANARY_TABLES): RulesApplier {
  let canariesEnsured = false;
  /** ensureBuiltins succeeded once: jumps are checked inside the restore from then on. */
  let verified = false;
  /** The jumps whose checks ride on the next restore. */
  let deferred: readonly JumpRule[] | undefined;
  return {
    ...applier,
    async ensureJumps(jumps) {
      canariesEnsured = false;
      deferred = undefined;
      if (verified) deferred = jumps;
      else {
        await ensureBuiltins(ipt, jumps, canaryTables);
        verified = true;
      }
      canariesEnsured = true;
    },
    async ensureCanary() {
      if (canariesEnsured) {
        canariesEnsured = false;
        return;
      }
      await applier.ensureCanary();
    },
    canaryPresent: () => canaryPresent(ipt),
    async restore(payload) {
      const jumps = deferred;
      deferred = undefined;
      if (jumps === undefined) return applier.restore(payload);
      try {
        await applier.restore(withChecks(payload, builtinsProbeLines(jumps, canaryTables)));
      } catch (err) {
        // The tools do not always say which line failed (iptables-nft names a missing chain
        // without one), so ask: when the probe finds everything in place the payload itself failed;
        // otherwise nothing of the failing table was committed, and after the repair it goes in.
        if (await ensureBuiltins(ipt, jumps, canaryTables)) throw err;
        await applier.restore(payload);
      }
    },
    async cleanup() {
      canariesEnsured = false;
      verified = false;
      deferred = undefined;
      await applier.cleanup();
    },
  };
}
