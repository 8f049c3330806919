// Test doubles for the sync core, shared by tests elsewhere: a logger that records entries and a
// metrics sink that records calls. Real implementations are pino and src/server/metrics.ts.
import type { LogFn, Logger } from '../../model/logger.ts';
import type { IPFamily } from '../../model/types.ts';
import type { ProxyMetrics, TrafficPolicy } from '../sync-metrics.ts';

export interface LogEntry {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export function recordingLogger(entries: LogEntry[] = [], bindings: Record<string, unknown> = {}): Logger & { entries: LogEntry[] } {
  const at =
    (level: LogEntry['level']): LogFn =>
    (objOrMsg: object | string, msg?: string) => {
      if (typeof objOrMsg === 'string') entries.push({ level, msg: objOrMsg, fields: { ...bindings } });
      else entries.push({ level, msg: msg ?? '', fields: { ...bindings, ...objOrMsg } });
    };
  return {
    entries,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (more) => recordingLogger(entries, { ...bindings, ...more }),
  };
}

export class RecordingMetrics implements ProxyMetrics {
  readonly syncs: { family: IPFamily; kind: string; durationMs: number }[] = [];
  readonly programming: number[] = [];
  readonly errors: IPFamily[] = [];
  readonly rules = new Map<string, number>();
  readonly noLocal = new Map<string, number>();
  readonly lastSyncByFamily = new Map<IPFamily, number>();
  readonly lastQueuedByFamily = new Map<IPFamily, number>();
  readonly programmingFamilies: IPFamily[] = [];
  readonly probes: string[] = [];
  readonly invalid: string[] = [];
  readonly restarts: string[] = [];
  lastSync: number | undefined;
  lastQueued: number | undefined;
  pending = { endpoints: 0, services: 0 };
  total = { endpoints: 0, services: 0 };
  restoreFailures = 0;
  partialRestoreFailures = 0;

  observeSync(family: IPFamily, kind: 'full' | 'partial' | 'noop', durationMs: number): void {
    this.syncs.push({ family, kind, durationMs });
  }
  setLastSyncTimestamp(family: IPFamily, ms: number): void {
    this.lastSync = ms;
    this.lastSyncByFamily.set(family, ms);
  }
  setLastQueuedTimestamp(family: IPFamily, ms: number): void {
    this.lastQueued = ms;
    this.lastQueuedByFamily.set(family, ms);
  }
  observeNetworkProgramming(family: IPFamily, latencyMs: number): void {
    this.programming.push(latencyMs);
    this.programmingFamilies.push(family);
  }
  setChangesPending(endpoints: number, services: number): void {
    this.pending = { endpoints, services };
  }
  addChanges(endpoints: number, services: number): void {
    this.total = { endpoints: this.total.endpoints + endpoints, services: this.total.services + services };
  }
  incSyncErrors(family: IPFamily): void {
    this.errors.push(family);
  }
  /** Keyed `FAMILY table`, e.g. `IPv4 nat`. */
  setRuleCount(family: IPFamily, table: string, count: number): void {
    this.rules.set(`${family} ${table}`, count);
  }
  /** Keyed `FAMILY policy`, e.g. `IPv6 external`. */
  setNoLocalEndpoints(family: IPFamily, policy: TrafficPolicy, count: number): void {
    this.noLocal.set(`${family} ${policy}`, count);
  }
  incRestoreFailure(partial: boolean): void {
    this.restoreFailures++;
    if (partial) this.partialRestoreFailures++;
  }
  incProbe(endpoint: 'healthz' | 'livez', code: number): void {
    this.probes.push(`${endpoint}:${code}`);
  }
  incInvalidObject(kind: string): void {
    this.invalid.push(kind);
  }
  incWatchRestart(resource: string): void {
    this.restarts.push(resource);
  }
}
