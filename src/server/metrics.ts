// kube-proxy's Prometheus metrics on a dedicated prom-client Registry (not the global one, so
// tests are isolated). Names, types and buckets follow kubernetes/kubernetes
// pkg/proxy/metrics/metrics.go (subsystem "kubeproxy"); the last three counters are ours. The sync
// metrics carry ip_family where upstream has it since v1.33 (kubernetes#129173: durations, last
// and last-queued timestamps, network programming, rule counts, no-local-endpoints, restore
// failures); the change counters stay unlabelled, as upstream's change trackers are shared.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets, linearBuckets } from 'prom-client';
import type { IPFamily } from '../model/types.ts';
import { ConntrackReconcilerMetrics } from './conntrack-reconciler-metrics.ts';
import { registerKernelCounter } from './kernel-counter.ts';
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
  readonly #syncDuration: Histogram<'ip_family'>;
  readonly #fullDuration: Histogram<'ip_family'>;
  readonly #partialDuration: Histogram<'ip_family'>;
  readonly #lastTimestamp: Gauge<'ip_family'>;
  readonly #lastQueued: Gauge<'ip_family'>;
  readonly #programming: Histogram<'ip_family'>;
  readonly #endpointPending: Gauge;
  readonly #endpointTotal: Counter;
  readonly #servicePending: Gauge;
  readonly #serviceTotal: Counter;
  readonly #rulesTotal: Gauge<'table' | 'ip_family'>;
  readonly #restoreFailures: Counter<'ip_family'>;
  readonly #partialRestoreFailures: Counter<'ip_family'>;
  readonly #nftSyncFailures: Counter;
  readonly #nftCleanupFailures: Counter;
  readonly #drift: Gauge<'ip_family'>;
  readonly #noLocal: Gauge<'traffic_policy' | 'ip_family'>;
  readonly #healthz: Counter<'code'>;
  readonly #livez: Counter<'code'>;
  readonly #syncErrors: Counter<'ip_family'>;
  readonly #invalid: Counter<'kind'>;
  readonly #watchRestarts: Counter<'resource'>;
  readonly #conntrack: ConntrackReconcilerMetrics;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    const h = (name: string, help: string, buckets: number[]): Histogram<'ip_family'> =>
      new Histogram({ name: `kubeproxy_${name}`, help, buckets, labelNames: ['ip_family'], registers });
    const g = (name: string, help: string): Gauge => new Gauge({ name: `kubeproxy_${name}`, help, registers });
    const gf = (name: string, help: string): Gauge<'ip_family'> => new Gauge({ name: `kubeproxy_${name}`, help, labelNames: ['ip_family'], registers });
    const c = (name: string, help: string): Counter => new Counter({ name: `kubeproxy_${name}`, help, registers });
    const cf = (name: string, help: string): Counter<'ip_family'> => new Counter({ name: `kubeproxy_${name}`, help, labelNames: ['ip_family'], registers });

    this.#syncDuration = h('sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', SYNC_BUCKETS);
    this.#fullDuration = h('sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', SYNC_BUCKETS);
    this.#partialDuration = h('sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs', SYNC_BUCKETS);
    this.#lastTimestamp = gf('sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced');
    this.#lastQueued = gf('sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued');
    this.#programming = h('network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', PROGRAMMING_BUCKETS);
    this.#endpointPending = g('sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes');
    this.#endpointTotal = c('sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes');
    this.#servicePending = g('sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes');
    this.#serviceTotal = c('sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes');
    this.#rulesTotal = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_iptables_total',
      help: 'Total number of iptables rules owned by kube-proxy',
      labelNames: ['table', 'ip_family'],
      registers,
    });
    this.#restoreFailures = cf('sync_proxy_rules_iptables_restore_failures_total', 'Cumulative proxy iptables restore failures');
    this.#partialRestoreFailures = cf(
      'sync_proxy_rules_iptables_partial_restore_failures_total',
      'Cumulative proxy iptables partial restore failures',
    );
    this.#nftSyncFailures = c('sync_proxy_rules_nftables_sync_failures_total', 'Cumulative proxy nftables sync failures');
    this.#nftCleanupFailures = c('sync_proxy_rules_nftables_cleanup_failures_total', 'Cumulative proxy nftables cleanup failures');
    this.#drift = new Gauge({
      name: 'kubeproxyts_ruleset_drift',
      help: 'Differences the last check found between the kernel\'s rules and what kube-proxy-ts wrote (repaired by the next sync)',
      labelNames: ['ip_family'],
      registers,
    });
    this.#noLocal = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy', 'ip_family'],
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
    this.#conntrack = new ConntrackReconcilerMetrics(this.registry);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The text exposition and its content type, for the /metrics handler. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  setRulesetDrift(family: IPFamily, _checkedAtMs: number, differences: readonly string[]): void {
    this.#drift.labels(family).set(differences.length);
  }

  incNftablesFailure(kind: 'sync' | 'cleanup'): void {
    (kind === 'sync' ? this.#nftSyncFailures : this.#nftCleanupFailures).inc();
  }

  observeSync(family: IPFamily, kind: 'full' | 'partial' | 'noop', durationMs: number): void {
    const seconds = durationMs / 1000;
    this.#syncDuration.labels(family).observe(seconds);
    if (kind === 'full') this.#fullDuration.labels(family).observe(seconds);
    else if (kind === 'partial') this.#partialDuration.labels(family).observe(seconds);
  }
  setLastSyncTimestamp(family: IPFamily, ms: number): void {
    this.#lastTimestamp.labels(family).set(ms / 1000);
  }
  setLastQueuedTimestamp(family: IPFamily, ms: number): void {
    this.#lastQueued.labels(family).set(ms / 1000);
  }
  observeNetworkProgramming(family: IPFamily, latencyMs: number): void {
    this.#programming.labels(family).observe(latencyMs / 1000);
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
  setRuleCount(family: IPFamily, table: string, count: number): void {
    this.#rulesTotal.labels(table, family).set(count);
  }
  setNoLocalEndpoints(family: IPFamily, policy: TrafficPolicy, count: number): void {
    this.#noLocal.labels(policy, family).set(count);
  }
  observeConntrackReconcile(family: IPFamily, deleted: number, durationMs: number): void {
    this.#conntrack.observe(family, deleted, durationMs);
  }
  addKernelCounter(name: string, help: string, read: () => Promise<number | null>): void {
    registerKernelCounter(this.registry, name, help, read);
  }
  /** Without a family (a caller that does not know it), IPv4: the primary family of most nodes. */
  incRestoreFailure(partial: boolean, family: IPFamily = 'IPv4'): void {
    this.#restoreFailures.labels(family).inc();
    if (partial) this.#partialRestoreFailures.labels(family).inc();
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
