// The glue between cluster state and the proxiers: each run of the bounded-frequency runner takes
// one snapshot per IP family, asks that family's proxier to program it, and commits the snapshot
// only on success, so a failed sync's changes stay pending and are retried (with a full sync,
// like upstream's needFullSync after a failed restore, pkg/proxy/iptables/proxier.go). Nothing is
// programmed before the sources have delivered their initial lists (upstream waits for
// OnServiceSynced and OnEndpointSlicesSynced). Pure: clock, logger, metrics and health injected.
import { KubeProxyError, describeError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily, NamespacedName, Proxier, ProxyState } from '../model/types.ts';
import { BoundedFrequencyRunner } from './bounded-frequency-runner.ts';
import type { Clock } from './clock.ts';
import type { ProxyHealth } from './proxy-health.ts';
import { mergeTargets, serviceHealthTargets, type ServiceHealthTargets } from './service-health-targets.ts';
import { recordCounts, type SyncMetrics } from './sync-metrics.ts';

/** What the sync loop needs from the cluster state (src/model/cluster-state.ts has this shape). */
export interface SyncStateSource<S extends ProxyState = ProxyState> {
  isSynced(): boolean;
  snapshot(family: IPFamily, opts: { full: boolean }): S;
  /** Called with a snapshot this source returned, after its proxier programmed it. */
  commit(state: S): void;
  /** Epoch ms of the oldest change not yet committed for `family`, if any. */
  oldestPendingChange?(family: IPFamily): number | undefined;
}

/** The per-service health-check servers (src/server/service-health.ts). */
export interface ServiceHealthSink {
  syncServices(services: ReadonlyMap<NamespacedName, number>): void;
  syncEndpoints(endpoints: ReadonlyMap<NamespacedName, number>): void;
}

export interface SyncLoopOptions<S extends ProxyState = ProxyState> {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly state: SyncStateSource<S>;
  readonly proxiers: readonly Proxier[];
  readonly metrics: SyncMetrics;
  readonly health?: ProxyHealth;
  readonly serviceHealth?: ServiceHealthSink;
  /** minSyncPeriod. */
  readonly minSyncPeriodMs: number;
  /** syncPeriod: periodic run, and the cap of the retry backoff. */
  readonly syncPeriodMs: number;
  /** A full resync at least this often (upstream proxyutil.FullSyncPeriod, 1 h). */
  readonly fullSyncPeriodMs?: number;
}

const HOUR_MS = 3_600_000;

interface FamilyState {
  readonly proxier: Proxier;
  needFull: boolean;
  lastFullMs: number;
  targets: ServiceHealthTargets | undefined;
  /** The proxier's counts from its last successful sync. */
  counts: Readonly<Record<string, number>> | undefined;
}

export class SyncLoop<S extends ProxyState = ProxyState> {
  readonly #opts: SyncLoopOptions<S>;
  readonly #runner: BoundedFrequencyRunner;
  readonly #families: FamilyState[];
  readonly #fullSyncPeriodMs: number;

  constructor(opts: SyncLoopOptions<S>) {
    this.#opts = opts;
    this.#fullSyncPeriodMs = opts.fullSyncPeriodMs ?? HOUR_MS;
    this.#families = opts.proxiers.map((proxier) => ({ proxier, needFull: true, lastFullMs: 0, targets: undefined, counts: undefined }));
    this.#runner = new BoundedFrequencyRunner({
      name: 'sync-proxy-rules',
      clock: opts.clock,
      fn: () => this.syncOnce(),
      minIntervalMs: opts.minSyncPeriodMs,
      maxIntervalMs: Math.max(opts.syncPeriodMs, opts.minSyncPeriodMs),
      retryMaxMs: Math.max(opts.syncPeriodMs, opts.minSyncPeriodMs),
      onError: (err, info) =>
        opts.logger.warn({ err, failures: info.failures, retryInMs: info.retryInMs }, 'sync failed, retry scheduled'),
    });
  }

  /** Runs so far (for tests and --dry-run reporting). */
  get runs(): number {
    return this.#runner.runs;
  }

  /** Begin: the health clock starts now (upstream SyncLoop calls Updated per family), then a first sync. */
  start(): void {
    // The families /readyz waits for (each until its first successful sync).
    this.#opts.health?.expectFamilies(this.#families.map((f) => f.proxier.family));
    const now = this.#opts.clock.now();
    for (const f of this.#families) {
      this.#opts.health?.updated(f.proxier.family);
      // As upstream's Runner.Run: the first sync counts as queued at start.
      this.#opts.metrics.setLastQueuedTimestamp(f.proxier.family, now);
    }
    this.#runner.run();
  }

  /** A change arrived (or the sources finished their initial lists): sync soon. Cheap; never throws. */
  requestSync(): void {
    const now = this.#opts.clock.now();
    for (const f of this.#families) {
      this.#opts.health?.queuedUpdate(f.proxier.family);
      this.#opts.metrics.setLastQueuedTimestamp(f.proxier.family, now);
    }
    this.#runner.run();
  }

  /** Stop scheduling and wait for a sync in flight. Rules stay programmed (upstream does not flush). */
  stop(): Promise<void> {
    return this.#runner.stop();
  }

  /**
   * One pass over every family. The runner calls it; a caller without a runner (--dry-run) may
   * call it directly, but never concurrently with a started loop. Throws when a family failed, so
   * the runner backs off; the other families' successes are kept.
   */
  async syncOnce(): Promise<void> {
    const { state, logger } = this.#opts;
    if (!state.isSynced()) {
      logger.debug('not syncing: cluster state has not finished its initial lists');
      return;
    }
    const failed: { family: IPFamily; err: unknown }[] = [];
    for (const f of this.#families) {
      const err = await this.#syncFamily(f);
      if (err !== undefined) failed.push({ family: f.proxier.family, err });
    }
    this.#syncServiceHealth();
    this.#recordCounts();
    const first = failed[0];
    if (first !== undefined) {
      throw new KubeProxyError('KP_ERR_SYNC', `sync failed for ${failed.map((x) => x.family).join(', ')}`, {
        cause: first.err,
      });
    }
  }

  async #syncFamily(f: FamilyState): Promise<unknown> {
    const { clock, state, metrics, health, logger } = this.#opts;
    const family = f.proxier.family;
    const start = clock.now();
    const full = f.needFull || start - f.lastFullMs >= this.#fullSyncPeriodMs;
    try {
      const oldest = state.oldestPendingChange?.(family);
      const snap = state.snapshot(family, { full });
      metrics.setChangesPending(snap.changedEndpoints.size, snap.changedServices.size);
      health?.setNodeEligible(snap.node.eligible);
      const result = await f.proxier.sync(snap);
      state.commit(snap);
      const end = clock.now();
      f.needFull = false;
      if (full) f.lastFullMs = start;
      f.targets = serviceHealthTargets([snap]);
      health?.updated(family);
      health?.programmed(family);
      metrics.observeSync(family, full && result.kind !== 'noop' ? 'full' : result.kind, end - start);
      metrics.setLastSyncTimestamp(family, end);
      if (oldest !== undefined) metrics.observeNetworkProgramming(family, Math.max(0, end - oldest));
      metrics.addChanges(snap.changedEndpoints.size, snap.changedServices.size);
      metrics.setChangesPending(0, 0);
      f.counts = result.counts;
      logger.debug({ family, kind: result.kind, full, durationMs: end - start }, 'synced proxy rules');
      return undefined;
    } catch (err) {
      // The snapshot was not committed, so its changes are offered again; rewrite everything
      // next time as upstream does, since a partial apply may have left rules half-written.
      f.needFull = true;
      metrics.incSyncErrors(family);
      logger.error({ err, family, full, reason: describeError(err) }, 'sync of proxy rules failed');
      return err ?? new Error('sync failed');
    }
  }

  /** Rule counts per family, from each family's latest successful sync (ip_family label, as upstream). */
  #recordCounts(): void {
    for (const f of this.#families) recordCounts(this.#opts.metrics, f.proxier.family, f.counts);
  }

  #syncServiceHealth(): void {
    const sink = this.#opts.serviceHealth;
    if (sink === undefined) return;
    const targets = this.#families.flatMap((f) => (f.targets === undefined ? [] : [f.targets]));
    if (targets.length === 0) return;
    const merged = mergeTargets(targets);
    try {
      sink.syncServices(merged.services);
      sink.syncEndpoints(merged.endpoints);
    } catch (err) {
      this.#opts.logger.error({ err }, 'updating service health checks failed');
    }
  }
}
