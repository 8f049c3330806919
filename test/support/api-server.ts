// A test Kubernetes API server over plain HTTP on 127.0.0.1 that speaks the real list/watch
// protocol (apimachinery's "Efficient detection of changes"): lists carry a resourceVersion, watches
// stream newline-delimited JSON events from an RV, an RV older than the kept history gets 410 Gone,
// one newer than the store gets 504 "Too large resource version" (what kube-apiserver's watch cache
// answers), and bookmarks are sent when asked for. Test controls break it the ways real clusters do.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import {
  Store, TYPE_META, objectKey, parseFieldSelector, parseLabelSelector,
} from './api-server-store.ts';
import type { EventType, HistoryEvent, Kind, KubeObject } from './api-server-store.ts';
import { ContinueExpired, ListPager, type ListPage } from './api-server-pages.ts';

export type { Kind, KubeObject } from './api-server-store.ts';

const ROUTES: { prefix: string; kind: Kind }[] = [
  { prefix: '/api/v1/services', kind: 'Service' },
  { prefix: '/apis/discovery.k8s.io/v1/endpointslices', kind: 'EndpointSlice' },
  { prefix: '/api/v1/nodes', kind: 'Node' },
  { prefix: '/apis/networking.k8s.io/v1/servicecidrs', kind: 'ServiceCIDR' },
];

interface Watcher {
  kind: Kind;
  matches: (obj: KubeObject) => boolean;
  res: ServerResponse;
  timers: NodeJS.Timeout[];
}

export interface ApiServerOptions {
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** Events kept for watch resumption; older RVs get 410. */
  maxHistory?: number;
  bookmarkIntervalMs?: number;
  /** Serve streaming lists (`sendInitialEvents=true`, the WatchList feature); default true. */
  watchList?: boolean;
}

export interface ApiServerCounters {
  lists: Record<Kind, number>;
  watches: Record<Kind, number>;
  gets: number;
  unauthorized: number;
  gone: number;
  tooLarge: number;
  /** Continue tokens refused with 410 because their snapshot was compacted. */
  continueExpired: number;
  /** Streaming lists served (watches with sendInitialEvents=true). */
  watchLists: number;
}

/** One request as received (before authentication and routing), for checking what a client asks for. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Date.now() when the request arrived (for checking a client's rate limit). */
  at: number;
  /** The Authorization header as sent, if any. */
  authorization?: string;
}

const zero = (): Record<Kind, number> => ({ Service: 0, EndpointSlice: 0, Node: 0, ServiceCIDR: 0 });

export class TestApiServer {
  readonly counters: ApiServerCounters = {
    lists: zero(), watches: zero(), gets: 0, unauthorized: 0, gone: 0, tooLarge: 0, continueExpired: 0, watchLists: 0,
  };
  /** Every request received, in order (test/deploy-rbac.test.ts checks them against the ClusterRole). */
  readonly requests: RecordedRequest[] = [];
  /** Events created (POST /apis/events.k8s.io/v1/namespaces/<ns>/events), as received. */
  readonly events: { namespace: string; body: KubeObject }[] = [];
  /** How the next too-old watch is refused: an HTTP 410, or a 200 stream with an ERROR event. */
  goneMode: 'status' | 'event' = 'event';
  private readonly store: Store;
  private readonly pages: ListPager;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly watchers = new Set<Watcher>();
  private readonly opts: ApiServerOptions;
  private token: string | undefined;
  private listDelayMs = 0;
  private watchListOn: boolean;
  private watchDelayMs = 0;
  private portNumber = 0;

  constructor(opts: ApiServerOptions = {}) {
    this.opts = opts;
    this.token = opts.token;
    this.watchListOn = opts.watchList !== false;
    this.store = new Store(opts.maxHistory ?? 1000, (ev) => this.broadcast(ev));
    this.pages = new ListPager(this.store);
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get port(): number { return this.portNumber; }
  get url(): string { return `http://127.0.0.1:${this.portNumber}`; }
  get resourceVersion(): string { return String(this.store.rv); }

  /** Listen on 127.0.0.1: a random port the first time, the same port after `stop()`. */
  async start(): Promise<void> {
    this.server.listen(this.portNumber, '127.0.0.1');
    await once(this.server, 'listening');
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('test api server: no address');
    this.portNumber = addr.port;
  }

  /** Stop listening and cut every connection: clients see connection refused until `start()`. */
  async stop(): Promise<void> {
    this.endWatchers((w) => w.res.destroy());
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  create(kind: Kind, obj: KubeObject): KubeObject { return this.store.write(kind, 'ADDED', obj); }
  update(kind: Kind, obj: KubeObject): KubeObject { return this.store.write(kind, 'MODIFIED', obj); }
  delete(kind: Kind, obj: KubeObject): KubeObject { return this.store.write(kind, 'DELETED', obj); }
  list(kind: Kind): KubeObject[] { return structuredClone(this.store.list(kind)); }

  /** End every watch response cleanly (as the API server does at `timeoutSeconds`). */
  closeWatches(): void { this.endWatchers((w) => w.res.end()); }
  /** Destroy every watch socket mid-stream (a load balancer idle cut, a TCP reset). */
  resetWatches(): void { this.endWatchers((w) => w.res.socket?.destroy()); }
  setListDelay(ms: number): void { this.listDelayMs = ms; }
  /** Serve streaming lists or refuse them (422), as an API server upgraded or downgraded in place. */
  setWatchList(on: boolean): void { this.watchListOn = on; }
  /** Hold new watch requests this long before answering (the RV is judged when answered): opens a window to miss events. */
  setWatchDelay(ms: number): void { this.watchDelayMs = ms; }
  get watchCount(): number { return this.watchers.size; }
  /** Accept only this bearer token from now on (a rotated ServiceAccount token); open watches go on. */
  setToken(token: string): void { this.token = token; }

  /** Forget the history: open watches get an ERROR 410 event, and resuming from any RV gets 410. */
  compactHistory(): void {
    this.store.compact();
    this.endWatchers((w) => {
      w.res.write(`${JSON.stringify({ type: 'ERROR', object: goneStatus() })}\n`);
      w.res.end();
    });
  }

  backup(): void { this.store.backup(); }
  /**
   * Back to the last `backup()`; resourceVersions go backwards. Watches end as in a graceful API
   * server restart ('close': clients resume from an RV the server has not reached: 504) or are cut.
   */
  restoreFromBackup(cut: 'close' | 'reset' = 'close'): void {
    this.store.restore();
    if (cut === 'close') this.closeWatches();
    else this.resetWatches();
  }

  private endWatchers(fn: (w: Watcher) => void): void {
    for (const w of [...this.watchers]) {
      this.dropWatcher(w);
      fn(w);
    }
  }

  private dropWatcher(w: Watcher): void {
    for (const t of w.timers) clearTimeout(t);
    this.watchers.delete(w);
  }

  /** events.k8s.io/v1 create: 201 with the object, 409 for a name already taken (as the API server). */
  private createEvent(namespace: string, req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: KubeObject;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeObject;
      } catch (err) {
        return sendStatus(res, 400, 'BadRequest', `event body: ${String(err)}`);
      }
      const name = body.metadata?.name;
      if (this.events.some((e) => e.namespace === namespace && e.body.metadata?.name === name)) {
        return sendStatus(res, 409, 'AlreadyExists', `events.events.k8s.io "${String(name)}" already exists`);
      }
      this.events.push({ namespace, body });
      sendJson(res, 201, body);
    });
  }

  private broadcast(ev: HistoryEvent): void {
    for (const w of this.watchers) if (w.kind === ev.kind) sendEvent(w, ev);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const authorization = req.headers.authorization;
    this.requests.push({
      method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), at: Date.now(),
      ...(authorization === undefined ? {} : { authorization }),
    });
    if (this.token !== undefined && authorization !== `Bearer ${this.token}`) {
      this.counters.unauthorized++;
      return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    }
    const eventNs = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname)?.[1];
    if (eventNs !== undefined && req.method === 'POST') return this.createEvent(eventNs, req, res);
    const route = ROUTES.find((r) => url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`));
    if (!route || req.method !== 'GET') return sendStatus(res, 404, 'NotFound', `no route ${url.pathname}`);
    const name = url.pathname.slice(route.prefix.length + 1);
    if (name !== '') {
      this.counters.gets++;
      const obj = this.store.get(route.kind, name);
      if (!obj) return sendStatus(res, 404, 'NotFound', `${route.kind} "${name}" not found`);
      return sendJson(res, 200, obj);
    }
    let matches: (obj: KubeObject) => boolean;
    try {
      const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
      const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
      matches = (o) => labels(o.metadata?.labels ?? {}) && fields(o);
    } catch (err) {
      return sendStatus(res, 400, 'BadRequest', String(err));
    }
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      if (this.watchDelayMs > 0) {
        setTimeout(() => { if (!res.destroyed) this.watch(route.kind, url.searchParams, matches, res); }, this.watchDelayMs);
        return;
      }
      return this.watch(route.kind, url.searchParams, matches, res);
    }
    this.counters.lists[route.kind]++;
    let page: ListPage;
    try {
      page = this.pages.page(url.searchParams, () => this.store.list(route.kind).filter(matches));
    } catch (err) {
      if (err instanceof ContinueExpired) {
        this.counters.continueExpired++;
        return sendJson(res, 410, statusBody(410, 'Expired', err.message));
      }
      return sendStatus(res, 400, 'BadRequest', String(err));
    }
    const body = () => ({
      apiVersion: TYPE_META[route.kind].apiVersion,
      kind: `${TYPE_META[route.kind].kind}List`,
      metadata: {
        resourceVersion: String(page.rv),
        ...(page.continue === undefined ? {} : { continue: page.continue, remainingItemCount: page.remaining }),
      },
      items: page.items,
    });
    if (this.listDelayMs > 0) {
      // Snapshot now, answer later: a slow list returns a state that may be stale by the time it lands.
      const snapshot = body();
      setTimeout(() => sendJson(res, 200, snapshot), this.listDelayMs);
      return;
    }
    sendJson(res, 200, body());
  }

  private watch(kind: Kind, q: URLSearchParams, matches: (o: KubeObject) => boolean, res: ServerResponse): void {
    this.counters.watches[kind]++;
    const rvText = q.get('resourceVersion') ?? '';
    const rv = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    if (rv !== undefined && (!Number.isInteger(rv) || rv < this.store.compactedRv)) {
      this.counters.gone++;
      if (this.goneMode === 'status') return sendJson(res, 410, goneStatus());
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus() })}\n`);
      return;
    }
    if (rv !== undefined && rv > this.store.rv) {
      this.counters.tooLarge++;
      return sendJson(res, 504, {
        ...statusBody(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.store.rv}`),
        details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
      });
    }
    // A streaming list (KEP-3157): the current state as ADDED events, then a bookmark annotated
    // k8s.io/initial-events-end, then changes. kube-apiserver validates the parameters (422 Invalid)
    // and refuses it while its WatchList feature gate is off.
    const initialEvents = q.get('sendInitialEvents') === 'true';
    if (initialEvents) {
      if (!this.watchListOn) return sendStatus(res, 422, 'Invalid', 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled');
      if (q.get('resourceVersionMatch') !== 'NotOlderThan') return sendStatus(res, 422, 'Invalid', 'sendInitialEvents requires resourceVersionMatch=NotOlderThan');
      if (q.get('allowWatchBookmarks') !== 'true') return sendStatus(res, 422, 'Invalid', 'sendInitialEvents requires allowWatchBookmarks=true');
      this.counters.watchLists++;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { kind, matches, res, timers: [] };
    this.watchers.add(w);
    res.on('close', () => this.dropWatcher(w));
    if (rv === undefined || initialEvents) {
      // RV unset or "0": synthetic ADDED for the current state, then changes (the "get state and start" semantics).
      for (const obj of this.store.list(kind)) sendEvent(w, { rv: this.store.rv, kind, type: 'ADDED', obj });
      if (initialEvents) {
        const end = { ...TYPE_META[kind], metadata: { resourceVersion: String(this.store.rv), annotations: { 'k8s.io/initial-events-end': 'true' } } };
        res.write(`${JSON.stringify({ type: 'BOOKMARK', object: end })}\n`);
      }
    } else {
      for (const ev of this.store.history) if (ev.kind === kind && ev.rv > rv) sendEvent(w, ev);
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    if (timeoutSeconds > 0) {
      w.timers.push(setTimeout(() => { this.dropWatcher(w); res.end(); }, timeoutSeconds * 1000));
    }
    if (q.get('allowWatchBookmarks') === 'true') {
      const tick = (): void => {
        const bookmark = { ...TYPE_META[kind], metadata: { resourceVersion: String(this.store.rv) } };
        res.write(`${JSON.stringify({ type: 'BOOKMARK', object: bookmark })}\n`);
        w.timers.push(setTimeout(tick, this.opts.bookmarkIntervalMs ?? 1000));
      };
      w.timers.push(setTimeout(tick, this.opts.bookmarkIntervalMs ?? 1000));
    }
  }
}

/** Send one history event as this watcher sees it: a selector that starts/stops matching turns MODIFIED into ADDED/DELETED. */
function sendEvent(w: Watcher, ev: HistoryEvent): void {
  const now = w.matches(ev.obj);
  const before = ev.old !== undefined && w.matches(ev.old);
  let type: EventType | undefined;
  if (ev.type === 'MODIFIED') type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
  else type = now ? ev.type : undefined;
  if (type === undefined) return;
  w.res.write(`${JSON.stringify({ type, object: ev.obj })}\n`);
}

function statusBody(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function goneStatus(): Record<string, unknown> {
  return statusBody(410, 'Expired', 'too old resource version');
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, statusBody(code, reason, message));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export { objectKey };
