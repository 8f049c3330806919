// The Proxier for --proxy-mode=iptables, one per IP family (upstream pkg/proxy/iptables/proxier.go
// syncProxyRules): render (pure) → on a full sync ensure jump rules and canaries → one
// `iptables-restore --noflush --counters` → UDP conntrack clean-up. A sync is full at start, after
// any failed restore, when the options change, when a canary chain vanished (someone flushed the
// tables) and whenever the sync loop asks (state.full, periodic); otherwise only changed service
// ports' chains are written (KEP-3453).
import { describeError } from '../../errors.ts';
import type { Logger } from '../../model/logger.ts';
import type { IPFamily, Proxier, ProxyState, SyncResult } from '../../model/types.ts';
import type { BackendMetrics } from '../../sync/sync-metrics.ts';
import type { Conntrack } from '../../system/conntrack.ts';
import type { JumpRule, RulesApplier } from '../common/iptables-rules-applier.ts';
import type { RenderOptions } from './options.ts';
import { FullSyncPolicy } from '../common/full-sync-policy.ts';
import { UdpConntrackCleaner } from '../common/udp-conntrack-cleaner.ts';
import { DriftCheck } from './drift/drift-check.ts';
import { ExpectedRules } from './drift/expected-rules.ts';

/** The parts of the renderer's result the proxier uses (src/backends/iptables/render.ts). */
export interface RenderOutput<M> {
  /**
   * The restore input in order, written chunk by chunk (never joined). Chunks may be made as
   * they are read (render.ts renders while iptables-restore loads), so the memo is kept only
   * once the whole input was taken and the restore succeeded. Re-iterable, giving the same chunks
   * each time: the drift digest reads it again after the restore.
   */
  readonly payload: {
    readonly chunks: Iterable<string>;
    /** The same text in chunks of `lines` lines (render-payload.ts). */
    chunksOf?(lines: number): Iterable<string>;
  };
  readonly stats: {
    readonly full: boolean;
    readonly filterRules: number;
    readonly natRulesTotal: number;
    readonly noLocalEndpointsInternal: number;
    readonly noLocalEndpointsExternal: number;
  };
  readonly memo: M;
}

export interface IptablesProxierOptions<M> {
  readonly family: IPFamily;
  readonly applier: RulesApplier;
  /** The pure renderer, `renderRules` of render.ts. */
  readonly render: (state: ProxyState, opts: RenderOptions, previous: M | undefined) => RenderOutput<M>;
  /** The jump rules from built-in chains for these options (the renderer's requiredJumps). */
  readonly jumps: (family: IPFamily, opts: RenderOptions) => readonly JumpRule[];
  /** Options for this sync (host facts may change: addresses come and go). */
  readonly renderOptions: (state: ProxyState) => RenderOptions | Promise<RenderOptions>;
  /** Absent in --dry-run: nothing is deleted. */
  readonly conntrack?: Conntrack;
  readonly logger: Logger;
  readonly metrics?: BackendMetrics;
  /** Milliseconds clock for the canary check interval. */
  readonly now?: () => number;
  /** Check the canaries at most this often (upstream: every syncPeriod); 0 checks on every sync. */
  readonly canaryIntervalMs?: number;
  /** The pauses of a paced drift check (drift/drift-check.ts); default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Lines per chunk when the drift digest reads a payload: digesting a line allocates many times its
 * text (tokens, sorted options), so a
 * 512-line chunk lived through one or two scavenges and was promoted (~30 MiB over a 10k full sync).
 */
const DIGEST_CHUNK_LINES = 32;
export class IptablesProxier<M> implements Proxier {
  readonly mode = 'iptables' as const;
  readonly family: IPFamily;
  readonly #o: IptablesProxierOptions<M>;
  #memo: M | undefined;
  readonly #policy = new FullSyncPolicy();
  #lastCanaryCheck = Number.NEGATIVE_INFINITY;
  /** UDP flows to delete after each successful sync (upstream pkg/proxy/conntrack cleanup.go). */
  readonly #udp: UdpConntrackCleaner;
  /** What our payloads left in the kernel (drift/expected-rules.ts), compared at the canary cadence. */
  readonly #expected = new ExpectedRules();
  #driftLogged = false;
  readonly #drift: DriftCheck;
  /** Restore failures so far (also fed to metrics). */
  restoreFailures = 0;

  constructor(options: IptablesProxierOptions<M>) {
    this.#o = options;
    this.family = options.family;
    this.#udp = new UdpConntrackCleaner({
      family: options.family,
      logger: options.logger,
      ...(options.conntrack ? { conntrack: options.conntrack } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    this.#drift = new DriftCheck({
      family: options.family,
      applier: options.applier,
      expected: this.#expected,
      logger: options.logger,
      now: () => this.#now(),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      report: (differences) => options.metrics?.setRulesetDrift?.(options.family, this.#now(), differences),
    });
  }

  /** Whether the next sync will be full (for tests and logs). */
  get needFullSync(): boolean {
    return this.#policy.pending;
  }

  async sync(state: ProxyState): Promise<SyncResult> {
    try {
      return await this.#sync(state);
    } catch (err) {
      // The change tracker has handed this state over: keep its removed UDP endpoints for the
      // clean-up after the next successful sync.
      this.#udp.syncFailed(state);
      throw err;
    }
  }

  async #sync(state: ProxyState): Promise<SyncResult> {
    const { applier, logger } = this.#o;
    if (!this.#policy.pending && this.#checkDue()) {
      if (!(await applier.canaryPresent())) {
        logger.warn({ family: this.family }, 'canary chain missing: tables were flushed, doing a full sync');
        this.#policy.requireFull();
      }
      const differences = await this.#drift.differences();
      if (differences.length > 0) {
        if (!this.#driftLogged) logger.warn({ family: this.family, differences }, 'iptables rules differ from what was written, doing a full sync');
        this.#driftLogged = true;
        this.#policy.requireFull();
      } else this.#driftLogged = false;
    }
    const full = this.#policy.isFull(state.full);
    let opts = await this.#o.renderOptions(state);
    if (full) {
      const jumps = this.#o.jumps(this.family, opts);
      await applier.ensureJumps(jumps);
      this.#expected.setJumps(jumps);
      await applier.ensureCanary();
      this.#lastCanaryCheck = this.#now();
      // Stale chains are known from the memo of the last applied render; only without one (first
      // sync after a start) or when the kernel may differ from it (failed restore, flushed tables)
      // is the nat table read back. At 10k services that iptables-save is 300k lines, which would
      // otherwise cost every periodic full resync seconds (bench/iptables.bench.ts).
      if (this.#memo === undefined || this.#policy.pending) opts = { ...opts, existingNatChains: await applier.natChains() };
    }
    const out = this.#o.render(full ? { ...state, full: true } : state, opts, this.#memo);
    try {
      await applier.restore(out.payload.chunks);
    } catch (err) {
      this.restoreFailures += 1;
      this.#o.metrics?.incRestoreFailure(!out.stats.full, this.family);
      this.#policy.requireFull();
      logger.error(
        { family: this.family, full: out.stats.full, err, reason: describeError(err), ...restoreDetail(err) },
        'iptables-restore failed',
      );
      throw err;
    }
    this.#memo = out.memo;
    this.#record(out.payload.chunksOf?.(DIGEST_CHUNK_LINES) ?? out.payload.chunks, out.stats.full);
    this.#policy.succeeded();
    await this.#udp.afterSync(state);
    return {
      kind: out.stats.full ? 'full' : 'partial',
      counts: {
        'filter-rules': out.stats.filterRules,
        'nat-rules': out.stats.natRulesTotal,
        'no-local-endpoints-internal': out.stats.noLocalEndpointsInternal,
        'no-local-endpoints-external': out.stats.noLocalEndpointsExternal,
      },
    };
  }

  /**
   * What the applied payload left, for the drift check: the payload is read a second time (its
   * chunks are rendered anew, identically) once the restore succeeded, not while iptables-restore
   * reads it. Digesting each rule allocates a lot; done in the stream it made every chunk in flight
   * to iptables-restore outlive two scavenges, so ~60 MiB of spent payload text was promoted to
   * the old generation during a 10k-Service full sync and stayed there (RSS) until a full GC.
   * Read here in small chunks (DIGEST_CHUNK_LINES) for the same reason.
   */
  #record(chunks: Iterable<string>, full: boolean): void {
    const recorder = this.#expected.recorder(full);
    for (const c of chunks) recorder.push(c);
    recorder.commit();
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /** The canary and drift checks run at most once per canaryIntervalMs (upstream: syncPeriod). */
  #checkDue(): boolean {
    const interval = this.#o.canaryIntervalMs ?? 0;
    const now = this.#now();
    if (now - this.#lastCanaryCheck < interval) return false;
    this.#lastCanaryCheck = now;
    return true;
  }
}

function restoreDetail(err: unknown): Record<string, unknown> {
  if (typeof err === 'object' && err !== null && 'line' in err && 'context' in err) {
    const e = err as { line: unknown; rule?: unknown; context: unknown };
    return { line: e.line, rule: e.rule, context: e.context };
  }
  return {};
}

