// When and how the iptables drift check runs (our rules as iptables-save lists them against what
// our payloads left, drift/expected-rules.ts). A quick check (a small table) runs in the sync, at
// every canary check. A slow one (10k Services: ~0.8 s of comparing in the daemon, beside
// iptables-save's own ~0.8 s) would by itself take a minute's idle CPU to ~2.7 % of a core (issue
// 14's target is 1 %), so it runs beside the syncs, reading the listing paced: after every
// PACE_SLICE_MS of its own work it pauses so that it uses at most DRIFT_CPU_SHARE of a core (the
// listing waits on a full pipe meanwhile), and the next one starts as long after it again. Its
// result counts only if what we wrote did not change while it ran (ExpectedRules.version); the
// next canary check takes it.
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily } from '../../../model/types.ts';
import type { Table } from '../../../system/iptables.ts';
import type { RulesApplier } from '../../common/iptables-rules-applier.ts';
import type { ExpectedRules } from './expected-rules.ts';

/** A check slower than this is run beside the syncs, paced. */
export const DRIFT_SLOW_MS = 250;
/** The share of one core a slow check may use while it runs, and on average. */
export const DRIFT_CPU_SHARE = 0.003;
/** Chains above which a table is taken as slow before its first check (~1.6 s for 110k chains). */
const SLOW_CHAINS = 15_000;
/** Work between two pauses of a paced check. */
const PACE_SLICE_MS = 10;
/** A paced listing of a 30k-Service table may take ~10 minutes. */
const PACED_SAVE_TIMEOUT_MS = 30 * 60_000;

export interface DriftCheckOptions {
  readonly family: IPFamily;
  readonly applier: Pick<RulesApplier, 'save' | 'saveChunks'>;
  readonly expected: ExpectedRules;
  readonly logger: Logger;
  readonly now: () => number;
  /** Without it (tests, tools) a slow check runs in the sync like a quick one, spaced by its cost. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** kubeproxyts_ruleset_drift. */
  readonly report?: (differences: readonly string[]) => void;
}

export class DriftCheck {
  readonly #o: DriftCheckOptions;
  #nextAt = Number.NEGATIVE_INFINITY;
  #lastTookMs: number | undefined;
  #running = false;
  #done: { version: number; differences: string[] } | undefined;

  constructor(o: DriftCheckOptions) {
    this.#o = o;
  }

  /** Whether a paced check is under way (tests, status). */
  get running(): boolean {
    return this.#running;
  }

  /** At a canary check: the differences found, [] when none or when no result is due yet. */
  async differences(): Promise<string[]> {
    const { expected, now } = this.#o;
    const done = this.#done;
    if (done !== undefined) {
      this.#done = undefined;
      return done.version === expected.version ? done.differences : [];
    }
    if (this.#running || now() < this.#nextAt || !expected.known) return [];
    const slow = this.#lastTookMs === undefined ? expected.chainCount > SLOW_CHAINS : this.#lastTookMs > DRIFT_SLOW_MS;
    if (slow && this.#o.applier.saveChunks !== undefined && this.#o.sleep !== undefined) {
      this.#background();
      return [];
    }
    const start = now();
    const differences = await this.#check(undefined);
    this.#lastTookMs = now() - start;
    this.#nextAt = this.#lastTookMs > DRIFT_SLOW_MS ? now() + this.#lastTookMs / DRIFT_CPU_SHARE : Number.NEGATIVE_INFINITY;
    this.#o.report?.(differences);
    return differences;
  }

  #background(): void {
    const { expected, now, logger, family } = this.#o;
    const version = expected.version;
    const sleep = this.#o.sleep;
    if (sleep === undefined) return;
    let work = 0;
    let sliceStart = now();
    const pace = (): Promise<void> | undefined => {
      const spent = now() - sliceStart;
      if (spent < PACE_SLICE_MS) return undefined;
      work += spent;
      return sleep(spent * (1 / DRIFT_CPU_SHARE - 1)).then(() => {
        sliceStart = now();
      });
    };
    this.#running = true;
    void this.#check(pace).then(
      (differences) => {
        // Rules we wrote while it ran were compared with a listing from before or after them.
        if (expected.version !== version) return;
        this.#done = { version, differences };
        this.#o.report?.(differences);
      },
      (err: unknown) => logger.warn({ family, err }, 'iptables drift check failed'),
    ).finally(() => {
      this.#running = false;
      work += now() - sliceStart;
      this.#lastTookMs = work;
      this.#nextAt = now() + work / DRIFT_CPU_SHARE;
    });
  }

  /** Our tables listed and compared; `pace` (paced checks) is asked after every piece. */
  async #check(pace: (() => Promise<void> | undefined) | undefined): Promise<string[]> {
    const { applier, expected } = this.#o;
    if (applier.saveChunks !== undefined) {
      // Digested as it streams: the nat listing is ~31 MB at 10k Services.
      const c = expected.comparer();
      const onText = (text: string): Promise<void> | undefined => {
        c.push(text);
        return pace?.();
      };
      for (const t of expected.tables()) await applier.saveChunks(t as Table, onText, pace === undefined ? undefined : PACED_SAVE_TIMEOUT_MS);
      return c.differences();
    }
    if (applier.save === undefined) return [];
    const saved = new Map<string, string[]>();
    for (const t of expected.tables()) saved.set(t, [await applier.save(t as Table)]);
    return expected.compare(saved);
  }
}
