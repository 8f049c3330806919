// kube-proxy's Prometheus metrics on a dedicated prom-client Registry (not the global one, so
// tests are isolated). Names, types and buckets follow kubernetes/kubernetes
// pkg/proxy/metrics/metrics.go (subsystem "kubeproxy"); the last three counters are ours.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets, linearBuckets } from 'prom-client';
import type { IPFamily } from '../model/types.ts';
import type { ProxyMetrics, TrafficPolicy } from '../sync/sync-metrics.ts';

const SYNC_BUCKETS = exponentialBuckets(0.001, 2, 15);
// Upstream merge(): 0, 0.25, 0.5, 1..59, 60..115 by 5, 120..300 by 30.
const PROGRAMMING_BUCKETS = [
  0,
  ...linearBuckets(0.25, 0.25, 2),
  ...linearBuckets(1, 1, 59),
  ...linearBuckets(60, 5, 12),
  ...linearBuckets(120, 30, 7),
];

export class PromMetrics implements ProxyMetrics {
  readonly registry: Registry;
  readonly #syncDuration: Histogram;
  readonly #fullDuration: Histogram;
  readonly #partialDuration: Histogram;
  readonly #lastTimestamp: Gauge;
  readonly #lastQueued: Gauge;
  readonly #programming: Histogram;
  readonly #endpointPending: Gauge;
  readonly #endpointTotal: Counter;
  readonly #servicePending: Gauge;
  readonly #serviceTotal: Counter;
  readonly #rulesTotal: Gauge<'table'>;
  readonly #restoreFailures: Counter;
  readonly #partialRestoreFailures: Counter;
  readonly #nftSyncFailures: Counter;
  readonly #nftCleanupFailures: Counter;
  readonly #noLocal: Gauge<'traffic_policy'>;
  readonly #healthz: Counter<'code'>;
  readonly #livez: Counter<'code'>;
  readonly #syncErrors: Counter<'ip_family'>;
  readonly #invalid: Counter<'kind'>;
  readonly #watchRestarts: Counter<'resource'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    const h = (name: string, help: string, buckets: number[]): Histogram =>
      new Histogram({ name: `kubeproxy_${name}`, help, buckets, registers });
    const g = (name: string, help: string): Gauge => new Gauge({ name: `kubeproxy_${name}`, help, registers });
    const c = (name: string, help: string): Counter => new Counter({ name: `kubeproxy_${name}`, help, registers });

    this.#syncDuration = h('sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', SYNC_BUCKETS);
    this.#fullDuration = h('sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', SYNC_BUCKETS);
    this.#partialDuration = h('sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs', SYNC_BUCKETS);
    this.#lastTimestamp = g('sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced');
    this.#lastQueued = g('sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued');
    this.#programming = h('network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', PROGRAMMING_BUCKETS);
    this.#endpointPending = g('sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes');
    this.#endpointTotal = c('sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes');
    this.#servicePending = g('sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes');
    this.#serviceTotal = c('sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes');
    this.#rulesTotal = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_iptables_total',
      help: 'Total number of iptables rules owned by kube-proxy',
      labelNames: ['table'],
      registers,
    });
    this.#restoreFailures = c('sync_proxy_rules_iptables_restore_failures_total', 'Cumulative proxy iptables restore failures');
    this.#partialRestoreFailures = c(
      'sync_proxy_rules_iptables_partial_restore_failures_total',
      'Cumulative proxy iptables partial restore failures',
    );
    this.#nftSyncFailures = c('sync_proxy_rules_nftables_sync_failures_total', 'Cumulative proxy nftables sync failures');
    this.#nftCleanupFailures = c('sync_proxy_rules_nftables_cleanup_failures_total', 'Cumulative proxy nftables cleanup failures');
    this.#noLocal = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'],
      registers,
    });
    this.#healthz = new Counter({ name: 'kubeproxy_proxy_healthz_total', help: 'Cumulative proxy healthz HTTP status', labelNames: ['code'], registers });
    this.#livez = new Counter({ name: 'kubeproxy_proxy_livez_total', help: 'Cumulative proxy livez HTTP status', labelNames: ['code'], registers });
    this.#syncErrors = new Counter({
      name: 'kubeproxy_sync_proxy_rules_errors_total',
      help: 'Failed syncs of proxy rules, by IP family',
      labelNames: ['ip_family'],
      registers,
    });
    this.#invalid = new Counter({
      name: 'kubeproxy_invalid_objects_total',
      help: 'Kubernetes objects dropped (wholly or partly) as invalid',
      labelNames: ['kind'],
      registers,
    });
    this.#watchRestarts = new Counter({
      name: 'kubeproxy_source_watch_restarts_total',
      help: 'Restarts of an API-server watch',
      labelNames: ['resource'],
      registers,
    });
    // Zero the upstream-labelled series so a scrape shows them before the first event.
    for (const policy of ['internal', 'external'] as const) this.#noLocal.labels(policy).set(0);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The text exposition and its content type, for the /metrics handler. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  incNftablesFailure(kind: 'sync' | 'cleanup'): void {
    (kind === 'sync' ? this.#nftSyncFailures : this.#nftCleanupFailures).inc();
  }

  observeSync(_family: IPFamily, kind: 'full' | 'partial' | 'noop', durationMs: number): void {
    const seconds = durationMs / 1000;
    this.#syncDuration.observe(seconds);
    if (kind === 'full') this.#fullDuration.observe(seconds);
    else if (kind === 'partial') this.#partialDuration.observe(seconds);
  }
  setLastSyncTimestamp(ms: number): void {
    this.#lastTimestamp.set(ms / 1000);
  }
  setLastQueuedTimestamp(ms: number): void {
    this.#lastQueued.set(ms / 1000);
  }
  observeNetworkProgramming(latencyMs: number): void {
    this.#programming.observe(latencyMs / 1000);
  }
  setChangesPending(endpoints: number, services: number): void {
    this.#endpointPending.set(endpoints);
    this.#servicePending.set(services);
  }
  addChanges(endpoints: number, services: number): void {
    this.#endpointTotal.inc(endpoints);
    this.#serviceTotal.inc(services);
  }
  incSyncErrors(family: IPFamily): void {
    this.#syncErrors.labels(family).inc();
  }
  setRuleCount(table: string, count: number): void {
    this.#rulesTotal.labels(table).set(count);
  }
  setNoLocalEndpoints(policy: TrafficPolicy, count: number): void {
    this.#noLocal.labels(policy).set(count);
  }
  incRestoreFailure(partial: boolean): void {
    this.#restoreFailures.inc();
    if (partial) this.#partialRestoreFailures.inc();
  }
  incProbe(endpoint: 'healthz' | 'livez', code: number): void {
    (endpoint === 'healthz' ? this.#healthz : this.#livez).labels(String(code)).inc();
  }
  incInvalidObject(kind: string): void {
    this.#invalid.labels(kind).inc();
  }
  incWatchRestart(resource: string): void {
    this.#watchRestarts.labels(resource).inc();
  }
}
