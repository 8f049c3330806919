// upstream pkg/proxy/metrics ReconcileConntrackFlowsDeletedEntriesTotal and
// ReconcileConntrackFlowsLatency (v1.33, #130204 / #130200), labelled by IP family.
import { Counter, Histogram, exponentialBuckets, type Registry } from 'prom-client';
import type { IPFamily } from '../model/types.ts';

export class ConntrackReconcilerMetrics {
  readonly #deleted: Counter<'ip_family'>;
  readonly #duration: Histogram<'ip_family'>;

  constructor(registry: Registry) {
    this.#deleted = new Counter({
      name: 'kubeproxy_conntrack_reconciler_deleted_entries_total',
      help: 'Cumulative conntrack flows deleted by conntrack reconciler',
      labelNames: ['ip_family'],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: 'kubeproxy_conntrack_reconciler_sync_duration_seconds',
      help: 'ReconcileConntrackFlowsLatency latency in seconds',
      labelNames: ['ip_family'],
      buckets: exponentialBuckets(0.001, 2, 15),
      registers: [registry],
    });
  }

  observe(family: IPFamily, deleted: number, durationMs: number): void {
    this.#deleted.labels(family).inc(deleted);
    this.#duration.labels(family).observe(durationMs / 1000);
  }
}
