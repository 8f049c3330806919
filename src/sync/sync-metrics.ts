// What the pure core records about syncs, health probes and objects; implemented over prom-client
// by src/server/metrics.ts (names from kubernetes/kubernetes pkg/proxy/metrics/metrics.go) and by
// recording fakes in tests. Times are in ms here; the implementation converts to seconds. Since
// v1.33 (kubernetes#129173) upstream labels the sync metrics with ip_family, one proxier per family.
import type { IPFamily } from '../model/types.ts';

export type TrafficPolicy = 'internal' | 'external';

export interface SyncMetrics {
  /** One proxier sync that succeeded: sync_proxy_rules_duration_seconds and the full/partial one. */
  observeSync(family: IPFamily, kind: 'full' | 'partial' | 'noop', durationMs: number): void;
  /** sync_proxy_rules_last_timestamp_seconds{ip_family} (last successful sync). */
  setLastSyncTimestamp(family: IPFamily, ms: number): void;
  /** sync_proxy_rules_last_queued_timestamp_seconds{ip_family} (last change that asked for a sync). */
  setLastQueuedTimestamp(family: IPFamily, ms: number): void;
  /** network_programming_duration_seconds{ip_family}: from the oldest change in a sync to its success. */
  observeNetworkProgramming(family: IPFamily, latencyMs: number): void;
  /** sync_proxy_rules_{endpoint,service}_changes_pending. */
  setChangesPending(endpoints: number, services: number): void;
  /** sync_proxy_rules_{endpoint,service}_changes_total. */
  addChanges(endpoints: number, services: number): void;
  /** Ours: kubeproxy_sync_proxy_rules_errors_total. */
  incSyncErrors(family: IPFamily): void;
  /** sync_proxy_rules_iptables_total{table,ip_family}. */
  setRuleCount(family: IPFamily, table: string, count: number): void;
  /** sync_proxy_rules_no_local_endpoints_total{traffic_policy,ip_family}. */
  setNoLocalEndpoints(family: IPFamily, policy: TrafficPolicy, count: number): void;
}

export interface BackendMetrics {
  /** sync_proxy_rules_iptables_restore_failures_total{ip_family} (and the partial one when `partial`). */
  incRestoreFailure(partial: boolean, family?: IPFamily): void;
  /**
   * A counter kept by the kernel (nfacct), read at scrape time: `read` gives its value, or null to
   * keep the last one. Optional: recording fakes may leave it out.
   */
  addKernelCounter?(name: string, help: string, read: () => Promise<number | null>): void;
  /**
   * One UDP conntrack reconciler run: conntrack_reconciler_deleted_entries_total{ip_family} and
   * conntrack_reconciler_sync_duration_seconds{ip_family}. Optional for recording fakes.
   */
  observeConntrackReconcile?(family: IPFamily, deleted: number, durationMs: number): void;
  /** sync_proxy_rules_nftables_sync_failures_total / _cleanup_failures_total (nftables mode). */
  incNftablesFailure?(kind: 'sync' | 'cleanup'): void;
  /** Ours: kubeproxyts_ruleset_drift{ip_family}, the differences the last check found between the kernel and what was written. */
  setRulesetDrift?(family: IPFamily, checkedAtMs: number, differences: readonly string[]): void;
}

export interface HealthMetrics {
  /** proxy_healthz_total{code} / proxy_livez_total{code}. */
  incProbe(endpoint: 'healthz' | 'livez', code: number): void;
}

export interface SourceMetrics {
  /** Ours: kubeproxy_invalid_objects_total{kind}. */
  incInvalidObject(kind: string): void;
  /** Ours: kubeproxy_source_watch_restarts_total{resource}. */
  incWatchRestart(resource: string): void;
}

export type ProxyMetrics = SyncMetrics & BackendMetrics & HealthMetrics & SourceMetrics;

/**
 * Map a SyncResult's `counts` onto metrics: `<table>-rules` keys feed iptables_total{table}, the
 * `no-local-endpoints-internal|external` keys feed no_local_endpoints_total. Others are ignored.
 */
export function recordCounts(metrics: SyncMetrics, family: IPFamily, counts: Readonly<Record<string, number>> | undefined): void {
  if (counts === undefined) return;
  for (const [key, value] of Object.entries(counts)) {
    if (key === 'no-local-endpoints-internal') metrics.setNoLocalEndpoints(family, 'internal', value);
    else if (key === 'no-local-endpoints-external') metrics.setNoLocalEndpoints(family, 'external', value);
    else if (key.endsWith('-rules')) metrics.setRuleCount(family, key.slice(0, -'-rules'.length), value);
  }
}
