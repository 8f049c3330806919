// Read-only questions to iptables asked in one process: `-C CHAIN RULE` (is this rule there?) and
// `-S CHAIN` (does this chain exist?) lines inside one iptables-restore. With iptables-legacy every
// `iptables` process reads the whole table from the kernel and parses it (about 0.1 s for the nat
// table at 2,000 Services × 10 endpoints), so asking the ~9 questions of a full sync (jumps from
// six built-in chains, canaries in three tables) one process each read the nat table four times;
// one probe reads each table once (bench/iptables-fixed-costs.bench.ts).
import { ExecError } from '../errors.ts';
import type { Exec } from './exec.ts';

/**
 * How a probe runs without writing. iptables-legacy-restore evaluates `-C`/`-S` under `--test`
 * and never commits; iptables-nft-restore 1.8.9 skips their evaluation under `--test` (a missing
 * rule passes), but without it a payload of only `-C`/`-S` adds nothing to the nf_tables batch.
 * Both checked against the installed iptables by test/iptables-probe.test.ts, which also checks
 * that the ruleset is unchanged afterwards.
 */
const PROBE_FLAGS: Record<'legacy' | 'nft', readonly string[]> = { legacy: ['--noflush', '--test'], nft: ['--noflush'] };
/** As in iptables.ts: wait up to 5 s for the xtables lock, give up after 60 s. */
const WAIT_ARGS = ['-w', '5'] as const;
const TIMEOUT_MS = 60_000;

/** One question: a table, and the command line after it (`-C CHAIN ARGS…` or `-S CHAIN`). */
export interface ProbeLine {
  readonly table: string;
  readonly line: string;
}

/**
 * The restore input for `lines`: one section per table, tables in first-seen order, each table's
 * lines in their order. Pure; also used to write a batch of `-N`/`-I` lines.
 */
export function probePayload(lines: readonly ProbeLine[]): string {
  const byTable = new Map<string, string[]>();
  for (const l of lines) {
    const t = byTable.get(l.table) ?? [];
    t.push(l.line);
    byTable.set(l.table, t);
  }
  const out: string[] = [];
  for (const [table, ls] of byTable) out.push(`*${table}`, ...ls, 'COMMIT');
  out.push('');
  return out.join('\n');
}

export type Probe = (lines: readonly ProbeLine[]) => Promise<boolean>;

/**
 * A probe through `restore` (an iptables-<backend>-restore binary; createIptables makes one per
 * Iptables as its `probe`). True when every line succeeded; false when one failed (a rule or chain is missing) or the tool
 * could not run, and the caller then asks one question at a time, which reports real failures.
 */
export function createProbe(exec: Exec, restore: string, backend: 'legacy' | 'nft'): Probe {
  return async (lines) => {
    if (lines.length === 0) return true;
    try {
      await exec(restore, [...PROBE_FLAGS[backend], ...WAIT_ARGS], { input: probePayload(lines), timeoutMs: TIMEOUT_MS });
      return true;
    } catch (err) {
      if (err instanceof ExecError) return false;
      throw err;
    }
  };
}
