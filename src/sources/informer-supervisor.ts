// Keeps one informer (ListWatch, list-watch.ts: client-node 2.0.1's, ported with its semantics so
// it runs without client-node's modules, issue 14) alive for one kind. It reconnects by itself only on a clean stream end, a client-side timeout and 410 Gone; any other error (connection
// refused, 5xx, 504 "Too large resource version" after an etcd restore) stops it for good
// (cache.js doneHandler; kubernetes-client/javascript#589, #1496). So every attempt here is a fresh
// ListWatch: its list is delivered with `sink.replace` (deletions missed while down are applied),
// failures restart it with capped, jittered exponential backoff, and a watchdog restarts an attempt
// that has shown no sign of life (event, bookmark, reconnect) for too long (#596, #958).
// ListWatch's own cache holds only skeletons (name, namespace, resourceVersion): it needs them for
// its resourceVersion dedupe and to turn a DELETED event into a delete callback, while whole objects
// would duplicate every Service and EndpointSlice the model already parsed (the list pages and the
// watch callbacks deliver the full objects; ClusterState keeps only what it parsed). Lists are
// paginated (api-list.ts) and each page goes into the sink as it arrives (upsert, then `retain`
// with the keys listed), so the whole list is never held.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from './kube-config.ts';
import { ListWatch, type ObjectList } from './list-watch.ts';
import { Watch } from './watch.ts';
import { listPaged } from './api-list.ts';
import { WatchListUnsupported, streamList } from './watch-list.ts';
import type { Logger } from '../model/logger.ts';
import type { ClusterStateSink, KindMap, ObjectKind } from './types.ts';
import type { KindStats } from './source-stats.ts';
import { backoffDelay, objectKeyOf, withTypeMeta } from './source-stats.ts';

export interface SupervisorTiming {
  /** First restart delay; doubles per consecutive failure up to `backoffMaxMs` (then jittered). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Restart an attempt with no event, bookmark or reconnect for this long. */
  stallTimeoutMs: number;
  /** Server-side watch timeout (client-go picks 5–10 min); the stream ends cleanly and resumes. */
  watchTimeoutSeconds: number;
  /** Relist from scratch this often (0 = never): repairs any divergence a missed event left behind. */
  relistPeriodMs: number;
}

export interface SupervisorOptions<K extends ObjectKind> {
  kind: K;
  kc: KubeConfig;
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  sink: ClusterStateSink;
  log: Logger;
  stats: KindStats;
  timing: SupervisorTiming;
  /** Objects per list page (client-go's 500); 0 lists in one response. */
  pageSize?: number;
  /** Try streaming lists (watch-list.ts) before paginated ones; default true. */
  watchList?: boolean;
  random?: () => number;
  /** Told of every restart (the kubeproxy_source_watch_restarts_total metric); must not throw. */
  onRestart?: (kind: K) => void;
  /** Told when a request was refused with 401 (a rotated token to read again); must not throw. */
  onUnauthorized?: () => void;
}

/** Whether a list (ApiException.code) or watch (Error.statusCode) failed with HTTP 401. */
export function isUnauthorized(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; statusCode?: unknown };
  return e.code === 401 || e.statusCode === 401;
}

type KubernetesObject = { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };

/** What ListWatch caches per object: enough for its dedupe by resourceVersion and its deletes. */
export function skeletonOf(obj: KubernetesObject): KubernetesObject {
  const m = obj.metadata;
  return { metadata: { name: m?.name ?? '', ...(m?.namespace === undefined ? {} : { namespace: m.namespace }), ...(m?.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }) } };
}

const OBJECT_PHASES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/**
 * The Watch (watch.ts, client-node's semantics) with bookmarks and a server timeout asked for, and a liveness hook. Object
 * events reach ListWatch as skeletons; the full object is `event` while ListWatch's (synchronous)
 * callbacks for it run.
 */
class SupervisedWatch extends Watch {
  dead = false;
  event: unknown;
  private readonly extra: Record<string, string>;
  private readonly onActivity: () => void;
  constructor(kc: KubeConfig, extra: Record<string, string>, onActivity: () => void) {
    super(kc);
    this.extra = extra;
    this.onActivity = onActivity;
  }
  override async watch(
    path: string, params: Record<string, string | number | boolean | undefined>,
    cb: (phase: string, apiObj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void,
  ): Promise<AbortController> {
    // ListWatch opens a watch even when stopped during its list; a superseded attempt must not.
    if (this.dead) return new AbortController();
    this.onActivity();
    try {
      return await super.watch(path, { ...params, ...this.extra }, (phase, obj, raw) => {
        this.onActivity();
        if (!OBJECT_PHASES.has(phase) || typeof obj !== 'object' || obj === null) return cb(phase, obj, raw);
        this.event = obj;
        try {
          cb(phase, skeletonOf(obj), raw);
        } finally {
          this.event = undefined;
        }
      }, done);
    } catch (err) {
      // e.g. applySecurityAuthentication failing (unreadable token file): ListWatch calls watch()
      // from an un-awaited doneHandler, so a throw here would be an unhandled rejection.
      done(err);
      return new AbortController();
    }
  }
}

export class InformerSupervisor<K extends ObjectKind> {
  private readonly o: SupervisorOptions<K>;
  private readonly random: () => number;
  private attempt = 0;
  private informer: ListWatch<KubernetesObject> | undefined;
  private watch: SupervisedWatch | undefined;
  private failures = 0;
  private stopped = true;
  private synced = false;
  private suppressDiff = false;
  private lastActivity = 0;
  private attemptStartedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartPending = false;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(opts: SupervisorOptions<K>) {
    this.o = opts;
    this.random = opts.random ?? Math.random;
    this.watchList = opts.watchList !== false;
  }

  /** Resolves after the first attempt either delivered its list or failed (a retry is then scheduled). */
  async start(): Promise<void> {
    this.stopped = false;
    const { stallTimeoutMs } = this.o.timing;
    this.watchdog = setInterval(() => this.checkStall(), Math.max(10, Math.floor(stallTimeoutMs / 4)));
    this.watchdog.unref();
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.restartTimer);
    await this.retire();
  }

  private touch(): void {
    this.lastActivity = Date.now();
    this.o.stats.lastActivityMs = this.lastActivity;
  }

  private async retire(): Promise<void> {
    this.attempt++;
    this.abortList?.();
    if (this.watch) this.watch.dead = true;
    const old = this.informer;
    this.informer = undefined;
    this.watch = undefined;
    if (old) await old.stop();
  }

  private async run(): Promise<void> {
    this.restartPending = false;
    await this.retire();
    if (this.stopped) return;
    const attempt = this.attempt;
    const current = (): boolean => attempt === this.attempt && !this.stopped;
    this.attemptStartedAt = Date.now();
    this.touch();
    const { timing, kind } = this.o;
    // Vary the server timeout like client-go's reflector (minWatchTimeout * (1 + rand)) so a fleet of
    // nodes does not reconnect in lockstep.
    const timeoutSeconds = Math.round(timing.watchTimeoutSeconds * (1 + this.random()));
    const watch = new SupervisedWatch(this.o.kc, { allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }, () => {
      if (!current()) return;
      this.touch();
      this.suppressDiff = false;
    });
    const listFn = async (): Promise<ObjectList<KubernetesObject>> => {
      this.touch();
      this.o.stats.lists++;
      const resourceVersion = await this.list(current);
      return { metadata: { resourceVersion }, items: this.listed.splice(0) };
    };
    // ListWatch's own reconnect backoff (client-node's) grows to 30 s; cap it with ours so tests and short outages recover fast.
    const delayFn = (ms: number): Promise<void> => sleep(Math.min(ms, timing.backoffMaxMs));
    const informer = new ListWatch<KubernetesObject>(
      this.o.path, watch, listFn, false, this.o.labelSelector, this.o.fieldSelector, { delayFn },
    );
    this.informer = informer;
    this.watch = watch;
    const onObject = (verb: 'upsert' | 'remove') => (skeleton: KubernetesObject): void => {
      // The diff ListWatch runs after every list duplicates what `replace` already delivered.
      if (!current() || this.suppressDiff) return;
      this.o.stats.events++;
      this.failures = 0;
      this.deliver(() => {
        if (verb === 'remove') return this.o.sink.remove(kind, objectKeyOf(skeleton));
        // Only watch events get here (list diffs are suppressed above), and they carry the object.
        if (watch.event === undefined) throw new Error(`no object with the ${kind} event for ${objectKeyOf(skeleton)}`);
        this.o.sink.upsert(kind, withTypeMeta(kind, watch.event as KindMap[K]));
      });
    };
    informer.on('add', onObject('upsert'));
    informer.on('update', onObject('upsert'));
    informer.on('delete', onObject('remove'));
    informer.on('error', (err: unknown) => { if (current()) this.scheduleRestart(err); });
    await informer.start().catch((err: unknown) => { if (current()) this.scheduleRestart(err); });
  }

  /** Skeletons of the list in progress, for ListWatch's cache. */
  private listed: KubernetesObject[] = [];
  /** Ends a streaming list in progress (a superseded attempt, stop). */
  private abortList: (() => void) | undefined;
  private watchList = true;

  /**
   * One paginated list into the sink: pages are upserted as they arrive and `retain` drops what the
   * list did not name (a sink without `retain` gets one `replace` of the whole list instead).
   */
  private async list(current: () => boolean): Promise<string> {
    const { kind, sink, kc, path, labelSelector, fieldSelector, pageSize } = this.o;
    const streaming = sink.retain !== undefined;
    const keys = new Set<string>();
    const whole: KindMap[K][] = [];
    this.listed = [];
    const query = { ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) };
    const handlers = {
      page: (items: KindMap[K][]) => {
        if (!current()) return;
        this.touch();
        for (const item of items) {
          this.listed.push(skeletonOf(item));
          const obj = withTypeMeta(kind, item);
          if (!streaming) {
            whole.push(obj);
            continue;
          }
          keys.add(objectKeyOf(obj));
          this.deliver(() => sink.upsert(kind, obj));
        }
      },
      restart: () => {
        keys.clear();
        whole.length = 0;
        this.listed = [];
      },
    };
    let rv: string | undefined;
    if (this.watchList) {
      const abort = new AbortController();
      this.abortList = () => abort.abort();
      try {
        rv = await streamList<KindMap[K]>(kc, path, query, (obj) => handlers.page([obj]), {
          timeoutSeconds: this.o.timing.watchTimeoutSeconds, signal: abort.signal,
        });
      } catch (err) {
        if (!(err instanceof WatchListUnsupported)) throw err;
        // Remembered for this informer's life: a server does not gain the feature between relists.
        this.watchList = false;
        this.o.log.info({ resource: kind, err }, 'API server does not stream lists (WatchList); listing in pages instead');
        handlers.restart();
      } finally {
        this.abortList = undefined;
      }
    }
    rv ??= await listPaged<KindMap[K]>(kc, path, query, handlers, pageSize === undefined ? {} : { pageSize });
    if (current()) this.deliverListEnd(streaming ? () => sink.retain?.(kind, keys) : () => sink.replace(kind, whole));
    return rv;
  }

  private deliverListEnd(end: () => void): void {
    const { kind, sink } = this.o;
    this.suppressDiff = true;
    this.deliver(end);
    if (!this.synced) {
      this.synced = true;
      this.deliver(() => sink.synced(kind));
    }
  }

  /** Sink handlers must not throw; if one does, the informer keeps going and the error is counted. */
  private deliver(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.o.stats.handlerErrors++;
      this.o.log.error({ resource: this.o.kind, err }, 'cluster state handler failed');
    }
  }

  private scheduleRestart(err: unknown, resetBackoff = false): void {
    if (this.stopped) return;
    // Everything from the failed attempt is ignored from here on, and its sockets are closed now.
    this.retire().catch((e: unknown) => this.o.log.warn({ resource: this.o.kind, err: e }, 'informer stop failed'));
    this.restartPending = true;
    clearTimeout(this.restartTimer);
    if (resetBackoff) this.failures = 0;
    const { backoffInitialMs, backoffMaxMs } = this.o.timing;
    const delayMs = backoffDelay(this.failures, backoffInitialMs, backoffMaxMs, this.random);
    this.failures++;
    this.o.stats.restarts++;
    this.o.onRestart?.(this.o.kind);
    if (isUnauthorized(err)) {
      this.o.log.warn({ resource: this.o.kind, delayMs }, 'API server refused our credentials (401); reading the token again and retrying');
      this.o.onUnauthorized?.();
    }
    this.o.log.warn({ resource: this.o.kind, err, delayMs }, 'watch restarting');
    this.restartTimer = setTimeout(() => {
      this.run().catch((e: unknown) => this.scheduleRestart(e));
    }, delayMs);
  }

  private checkStall(): void {
    if (this.stopped || this.restartPending) return;
    const now = Date.now();
    const { stallTimeoutMs, relistPeriodMs } = this.o.timing;
    if (relistPeriodMs > 0 && now - this.attemptStartedAt >= relistPeriodMs) {
      this.scheduleRestart(new Error('periodic relist'), true);
    } else if (now - this.lastActivity >= stallTimeoutMs) {
      this.o.stats.stalls++;
      this.scheduleRestart(new Error(`no watch event or bookmark for ${now - this.lastActivity} ms`));
    }
  }
}
