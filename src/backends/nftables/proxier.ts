// The Proxier for --proxy-mode=nftables, one per IP family: render (pure, render.ts) -> the
// deferred deletion of stale chains as its own transaction -> the sync's one atomic `nft -f -`
// -> UDP conntrack clean-up. Full syncs come from the sync loop (start, after a failure,
// hourly) and from here: when a base chain lost its rules or the table vanished (someone ran
// `nft flush ruleset`; probed at most once per syncPeriod, the nftables stand-in for the
// iptables canary) and after any refused transaction. The kernel is asked whether our table
// exists (chain headers only) at start and after a failure, never on a partial sync; a table
// found then is adopted (read back over netlink, rewritten where it differs: adopt/), or replaced
// whole in the sync's one transaction (render.ts replaceTable) when it cannot be.
import { describeError } from '../../errors.ts';
import type { Logger } from '../../model/logger.ts';
import type { IPFamily, Proxier, ProxyState, SyncResult } from '../../model/types.ts';
import type { BackendMetrics } from '../../sync/sync-metrics.ts';
import type { Conntrack } from '../../system/conntrack.ts';
import { compareTable, ExpectedTable, isFixedChain } from './drift/expected-table.ts';
import type { Nft, NftFamily } from '../../system/nft.ts';
import { FullSyncPolicy } from '../common/full-sync-policy.ts';
import { UdpConntrackCleaner } from '../common/udp-conntrack-cleaner.ts';
import type { NftOptions } from './options.ts';
import { BASE_CHAINS } from './render-base.ts';
import { renderTransaction, type NftMemo, type NftRenderResult, type NftRenderStats } from './render.ts';
import type { KernelTable } from './adopt/kernel-table.ts';
import { renderAdoption, type AdoptedRender } from './adopt/render-adoption.ts';

/** What the proxier needs of system/nft.ts. */
export type NftRunner = Pick<Nft, 'run' | 'listObjects' | 'chainsPresent' | 'deleteTable'> & Partial<Pick<Nft, 'ruleCounts'>>;

export interface NftablesProxierOptions {
  readonly family: IPFamily;
  readonly nft: NftRunner;
  readonly options: (state: ProxyState) => NftOptions | Promise<NftOptions>;
  /** Absent in --dry-run: nothing is deleted. */
  readonly conntrack?: Conntrack;
  readonly logger: Logger;
  readonly metrics?: BackendMetrics;
  readonly now?: () => number;
  /** Probe the base chains at most this often (syncPeriod); 0: before every partial sync. */
  readonly probeIntervalMs?: number;
  /**
   * Partial syncs (and deferred chain deletions) through our own nf_tables netlink batch when it
   * compiles the whole transaction (io/netlink-writer.ts); false: left to `nft`.
   */
  readonly netlink?: { tryRun(transaction: string, family: NftFamily): Promise<boolean> };
  /**
   * Reads our table back over netlink (io/read-table.ts): at start and after a failure a populated
   * table is adopted (adopt/) instead of replaced whole. Absent: replaced whole, as before.
   */
  readonly readTable?: (family: NftFamily) => Promise<KernelTable | null>;
  /** Called with every applied transaction (benchmarks, logs at trace level). */
  readonly onApplied?: (stats: NftRenderStats, bytes: number) => void;
}

const BASE_NAMES = BASE_CHAINS.map((c) => c.name);

export class NftablesProxier implements Proxier {
  readonly mode = 'nftables' as const;
  readonly family: IPFamily;
  readonly #o: NftablesProxierOptions;
  readonly #fam: NftFamily;
  #memo: NftMemo | undefined;
  // Full at start, on the loop's request and after any failure (common/full-sync-policy.ts), plus
  // this mode's own reason: drift found by the probe.
  readonly #policy = new FullSyncPolicy();
  /** List the kernel's objects before the next render (start, after a failure). */
  #readBack = true;
  #recreated = false;
  /** The last adoption's transaction was refused: the next read-back replaces the table whole. */
  #adoptFailed = false;
  #lastProbe = Number.NEGATIVE_INFINITY;
  /** What our transactions left in the table, for the drift check (drift/expected-table.ts). */
  readonly #expected = new ExpectedTable();
  readonly #udp: UdpConntrackCleaner;
  syncFailures = 0;

  constructor(options: NftablesProxierOptions) {
    this.#o = options;
    this.family = options.family;
    this.#fam = options.family === 'IPv6' ? 'ip6' : 'ip';
    this.#udp = new UdpConntrackCleaner({ family: options.family, logger: options.logger, ...(options.conntrack ? { conntrack: options.conntrack } : {}) });
  }

  get needFullSync(): boolean {
    return this.#policy.pending;
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    try {
      return await this.#sync(state);
    } catch (err) {
      this.#udp.syncFailed(state);
      throw err;
    }
  }

  async #sync(state: ProxyState): Promise<SyncResult> {
    const { nft, logger } = this.#o;
    const now = this.#o.now?.() ?? Date.now();
    if (!this.#policy.pending && now - this.#lastProbe >= (this.#o.probeIntervalMs ?? 0)) {
      this.#lastProbe = now;
      const differences = await this.#drift();
      if (differences.length > 0) {
        logger.warn({ family: this.family, differences: differences.slice(0, 20), count: differences.length }, 'nftables table or base chain missing, emptied or changed since written (drift): doing a full sync');
        this.#policy.requireFull();
        this.#readBack = true;
      }
    }
    const full = this.#policy.isFull(state.full);
    // At start or after a failure: a table found there is replaced whole in the sync's transaction.
    const opts = await this.#o.options(state);
    const adopted = full && this.#readBack ? await this.#adopt(state, opts, now) : undefined;
    const replaceTable = adopted === undefined && full && this.#readBack && (await nft.listObjects(this.#fam)) !== null;
    const r: NftRenderResult = adopted?.result ?? renderTransaction({
      state: full ? { ...state, full: true } : state,
      opts,
      memo: this.#memo,
      nowMs: now,
      recreateBaseChains: !this.#recreated,
      replaceTable,
    });
    if (r.deferredDeletes !== '') {
      try {
        await this.#apply(r.deferredDeletes, false);
        this.#expected.apply(r.deferredDeletes, false);
      } catch (err) {
        // Not fatal to this sync: the chains are looked up again after the next full sync.
        this.#o.metrics?.incNftablesFailure?.('cleanup');
        logger.error({ family: this.family, err, reason: describeError(err), ...nftDetail(err) }, 'deleting stale nftables chains failed');
        this.#policy.requireFull();
        this.#readBack = true;
      }
    }
    if (r.transaction !== '') {
      try {
        await this.#apply(r.transaction, r.stats.full);
      } catch (err) {
        this.syncFailures += 1;
        this.#o.metrics?.incNftablesFailure?.('sync');
        this.#memo = undefined;
        this.#policy.requireFull();
        this.#readBack = true;
        if (adopted !== undefined) this.#adoptFailed = true;
        logger.error(
          { family: this.family, full: r.stats.full, err, reason: describeError(err), ...nftDetail(err) },
          'nftables transaction failed',
        );
        throw err;
      }
      this.#o.onApplied?.(r.stats, r.transaction.length);
      this.#expected.apply(adopted?.fullTransaction ?? r.transaction, r.stats.full);
    } else if (adopted !== undefined) this.#expected.apply(adopted.fullTransaction, true);
    this.#memo = r.memo;
    this.#policy.succeeded();
    this.#readBack = false;
    this.#recreated = true;
    if (full) this.#lastProbe = now;
    await this.#udp.afterSync(state);
    return {
      kind: r.stats.full ? 'full' : r.transaction === '' ? 'noop' : 'partial',
      counts: {
        'no-local-endpoints-internal': r.stats.noLocalEndpointsInternal,
        'no-local-endpoints-external': r.stats.noLocalEndpointsExternal,
      },
    };
  }

  /** A populated table adopted (only what differs rewritten), or undefined: no table, or replaced whole. */
  async #adopt(state: ProxyState, opts: NftOptions, now: number): Promise<AdoptedRender | undefined> {
    const { readTable, logger } = this.#o;
    if (readTable === undefined) return undefined;
    if (this.#adoptFailed) {
      this.#adoptFailed = false;
      logger.info({ family: this.family, reason: 'the last adoption was refused' }, 'nftables table replaced whole, not adopted');
      return undefined;
    }
    let kernel: KernelTable | null;
    try {
      kernel = await readTable(this.#fam);
    } catch (err) {
      logger.info({ family: this.family, reason: describeError(err) }, 'nftables table replaced whole, not adopted');
      return undefined;
    }
    if (kernel === null) return undefined;
    const a = renderAdoption({ state, opts, memo: undefined, nowMs: now }, this.#fam, kernel);
    if ('fallback' in a) {
      logger.info({ family: this.family, reason: a.fallback }, 'nftables table replaced whole, not adopted');
      return undefined;
    }
    logger.info({ family: this.family, kept: a.keptChains, rewritten: a.rewrittenChains, lines: a.result.stats.lines }, 'nftables table adopted');
    return a;
  }

  /** Full syncs keep libnftables/nft; anything else goes by netlink when the writer takes it. */
  async #apply(transaction: string, full: boolean): Promise<void> {
    const { netlink, nft } = this.#o;
    if (!full && netlink !== undefined && (await netlink.tryRun(transaction, this.#fam))) return;
    await nft.run(transaction);
  }

  /**
   * The kernel's table against what we wrote: chain and set names (headers only) and the rule counts
   * of the fixed chains (a rule added to a per-Service chain is not seen). Before the first full sync
   * only the base chains are checked, as before. Reported as kubeproxyts_ruleset_drift.
   */
  async #drift(): Promise<string[]> {
    const { nft } = this.#o;
    let differences: string[];
    if (!this.#expected.known || nft.ruleCounts === undefined) {
      differences = (await nft.chainsPresent(this.#fam, BASE_NAMES)) ? [] : ['table kube-proxy or a base chain is missing'];
    } else {
      const objs = await nft.listObjects(this.#fam);
      const fixed = [...this.#expected.chains.keys()].filter(isFixedChain);
      const kernel = objs === null ? null : { ...objs, ruleCounts: await nft.ruleCounts(this.#fam, fixed.filter((c) => objs.chains.includes(c))) };
      differences = compareTable(this.#expected, kernel);
    }
    this.#o.metrics?.setRulesetDrift?.(this.family, this.#o.now?.() ?? Date.now(), differences);
    return differences;
  }
}

function nftDetail(err: unknown): Record<string, unknown> {
  if (typeof err === 'object' && err !== null && 'line' in err && 'command' in err) {
    const e = err as { line: unknown; command: unknown };
    return { line: e.line, command: e.command };
  }
  return {};
}
