// What `kube-proxy-ts status` reports about the running daemon's syncs: the last successful sync
// (when, how long, full or partial) per family, failures since start, and how many Services,
// service ports and endpoints the last committed state of each family held. Fed by wrapping the
// sync loop's metrics and state source (no change to the loop); read by the metrics server's
// status path (DAEMON_STATUS_PATH). Pure (the clock is the metrics' timestamps).
import type { IPFamily, ProxyState } from '../model/types.ts';
import type { SyncStateSource } from './sync-loop.ts';
import type { BackendMetrics, SyncMetrics } from './sync-metrics.ts';

export interface FamilySyncStatus {
  readonly lastSyncAt: string | null;
  readonly lastSyncDurationMs: number | null;
  readonly lastSyncKind: 'full' | 'partial' | 'noop' | null;
  readonly failuresSinceStart: number;
  readonly services: number;
  readonly servicePorts: number;
  readonly endpoints: number;
  /** The last drift check (nftables mode): when, and the differences it found (repaired by that sync). */
  readonly drift: { readonly checkedAt: string; readonly differences: readonly string[] } | null;
}

type Mutable = { -readonly [K in keyof FamilySyncStatus]: FamilySyncStatus[K] };

export class SyncStatus {
  readonly #families = new Map<IPFamily, Mutable>();
  #pending: { family: IPFamily; kind: 'full' | 'partial' | 'noop'; durationMs: number } | null = null;

  #of(family: IPFamily): Mutable {
    let f = this.#families.get(family);
    if (f === undefined) {
      f = { lastSyncAt: null, lastSyncDurationMs: null, lastSyncKind: null, failuresSinceStart: 0, services: 0, servicePorts: 0, endpoints: 0, drift: null };
      this.#families.set(family, f);
    }
    return f;
  }

  committed(state: ProxyState): void {
    const f = this.#of(state.family);
    f.servicePorts = state.services.size;
    f.services = new Set([...state.services.values()].map((s) => `${s.namespace}/${s.serviceName}`)).size;
    let n = 0;
    for (const eps of state.endpoints.values()) n += eps.length;
    f.endpoints = n;
  }

  synced(family: IPFamily, kind: 'full' | 'partial' | 'noop', durationMs: number): void {
    this.#pending = { family, kind, durationMs };
  }

  /** The sync loop sets the timestamp right after observing the sync. */
  syncedAt(family: IPFamily, ms: number): void {
    const p = this.#pending;
    if (p === null || p.family !== family) return;
    const f = this.#of(p.family);
    f.lastSyncAt = new Date(ms).toISOString();
    f.lastSyncDurationMs = p.durationMs;
    f.lastSyncKind = p.kind;
    this.#pending = null;
  }

  failed(family: IPFamily): void {
    this.#of(family).failuresSinceStart++;
  }

  driftChecked(family: IPFamily, checkedAtMs: number, differences: readonly string[]): void {
    this.#of(family).drift = { checkedAt: new Date(checkedAtMs).toISOString(), differences: [...differences] };
  }

  families(): Readonly<Partial<Record<IPFamily, FamilySyncStatus>>> {
    return Object.fromEntries([...this.#families].map(([k, v]) => [k, { ...v }]));
  }
}

/** The loop's metrics, also telling `status`. */
export function withSyncStatus(metrics: SyncMetrics, status: SyncStatus): SyncMetrics {
  return {
    ...bindAll(metrics),
    observeSync: (family, kind, ms) => {
      status.synced(family, kind, ms);
      metrics.observeSync(family, kind, ms);
    },
    setLastSyncTimestamp: (family, ms) => {
      status.syncedAt(family, ms);
      metrics.setLastSyncTimestamp(family, ms);
    },
    incSyncErrors: (family) => {
      status.failed(family);
      metrics.incSyncErrors(family);
    },
  };
}

function bindAll(m: SyncMetrics): SyncMetrics {
  return {
    observeSync: (f, k, d) => m.observeSync(f, k, d),
    setLastSyncTimestamp: (f, ms) => m.setLastSyncTimestamp(f, ms),
    setLastQueuedTimestamp: (f, ms) => m.setLastQueuedTimestamp(f, ms),
    observeNetworkProgramming: (f, ms) => m.observeNetworkProgramming(f, ms),
    setChangesPending: (e, s) => m.setChangesPending(e, s),
    addChanges: (e, s) => m.addChanges(e, s),
    incSyncErrors: (f) => m.incSyncErrors(f),
    setRuleCount: (f, t, c) => m.setRuleCount(f, t, c),
    setNoLocalEndpoints: (f, p, c) => m.setNoLocalEndpoints(f, p, c),
  };
}

/** The proxiers' metrics, also telling `status --verify` what the last drift check found. */
export function withDriftStatus<M extends BackendMetrics>(metrics: M, status: SyncStatus): BackendMetrics {
  // Required<>: a hook added to BackendMetrics must be forwarded here, or the proxiers' metrics
  // behind this wrapper silently stop (the reconciler's and nfacct's once did).
  const wrapped: Required<BackendMetrics> = {
    incRestoreFailure: (partial, family) => metrics.incRestoreFailure(partial, family),
    incNftablesFailure: (kind) => metrics.incNftablesFailure?.(kind),
    addKernelCounter: (name, help, read) => metrics.addKernelCounter?.(name, help, read),
    observeConntrackReconcile: (family, deleted, durationMs) => metrics.observeConntrackReconcile?.(family, deleted, durationMs),
    setRulesetDrift: (family, at, differences) => {
      status.driftChecked(family, at, differences);
      metrics.setRulesetDrift?.(family, at, differences);
    },
  };
  return wrapped;
}

/** The loop's state source, counting what each committed snapshot held. */
export function withCommitStatus<S extends ProxyState>(source: SyncStateSource<S>, status: SyncStatus): SyncStateSource<S> {
  const out: SyncStateSource<S> = {
    isSynced: () => source.isSynced(),
    snapshot: (family, opts) => source.snapshot(family, opts),
    commit: (s) => {
      source.commit(s);
      status.committed(s);
    },
  };
  const oldest = source.oldestPendingChange?.bind(source);
  return oldest === undefined ? out : { ...out, oldestPendingChange: oldest };
}
