// Runs the UDP conntrack reconciler (conntrack-reconcile.ts) after a successful sync of a mode
// that NATs UDP in the kernel: list the family's UDP flows, delete the stale ones, and record
// kubeproxy_conntrack_reconciler_deleted_entries_total and _sync_duration_seconds as upstream
// CleanStaleEntries does. Errors are logged, never thrown: the sync itself succeeded.
import type { Logger } from '../../model/logger.ts';
import type { IPFamily, ProxyState } from '../../model/types.ts';
import type { BackendMetrics } from '../../sync/sync-metrics.ts';
import type { Conntrack, ConntrackFilter } from '../../system/conntrack.ts';
import { staleUdpFlows, type StaleFlowFilter } from './conntrack-reconcile.ts';

export interface ConntrackReconcilerOptions {
  readonly family: IPFamily;
  readonly conntrack: Conntrack;
  readonly logger: Logger;
  readonly metrics?: BackendMetrics;
  /** Milliseconds clock for the duration metric. */
  readonly now: () => number;
}

function toFilter(f: StaleFlowFilter): ConntrackFilter {
  return f.kind === 'service-port'
    ? { kind: 'service-port-reply', ip: f.ip, port: f.port, replySrc: f.replySrc, replySrcPort: f.replySrcPort }
    : { kind: 'nodeport-reply', port: f.port, replySrc: f.replySrc, replySrcPort: f.replySrcPort };
}

export interface ReconcileResult {
  readonly deleted: number;
  readonly filters: readonly StaleFlowFilter[];
}

export async function reconcileUdpConntrack(o: ConntrackReconcilerOptions, state: ProxyState): Promise<ReconcileResult> {
  const list = o.conntrack.listUdp;
  if (list === undefined) return { deleted: 0, filters: [] };
  const start = o.now();
  let deleted = 0;
  let filters: StaleFlowFilter[] = [];
  try {
    filters = staleUdpFlows(await list.call(o.conntrack, o.family), state.services.values(), state.endpoints);
    for (const f of filters) {
      try {
        deleted += await o.conntrack.clear(o.family, 'UDP', toFilter(f));
      } catch (err) {
        o.logger.error({ family: o.family, filter: f, err }, 'conntrack reconciler: deleting stale flows failed');
      }
    }
  } catch (err) {
    o.logger.error({ family: o.family, err }, 'conntrack reconciler: listing UDP flows failed');
  }
  const ms = o.now() - start;
  o.metrics?.observeConntrackReconcile?.(o.family, deleted, ms);
  if (deleted > 0) o.logger.debug({ family: o.family, entriesDeleted: deleted, tookMs: ms }, 'conntrack reconciler: stale UDP flows deleted');
  return { deleted, filters };
}
