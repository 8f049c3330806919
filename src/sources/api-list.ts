// Paginated lists, as client-go's reflector makes them through its pager (tools/pager/pager.go):
// `limit=500`, then `continue=<token>` until the server returns none; a 410 Gone for a continue
// token (its snapshot was compacted away) falls back to one full list (FullListIfExpired). Each page
// is handed over as it arrives, as raw wire JSON: a 10k-object list is never one response in memory,
// and client-node's generated list calls (whole response text, then a typed deep copy of every
// object with Date fields, ~4 copies of the list at once) are not used.
// Requests authenticate exactly as watches do (RequestContext + KubeConfig.applySecurityAuthentication
// + its agent, http-request.ts), so credentials, TLS, proxies and our rate limit (kubeconfig.ts)
// are the same for lists and watches.
import { readText, send } from './http-request.ts';
import type { KubeConfig } from './kube-config.ts';
import { ProxyKubeConfig } from './kubeconfig.ts';
import { HttpMethod, RequestContext } from './request-context.ts';

/** client-go's pager default (tools/pager/pager.go defaultPageSize). */
export const LIST_PAGE_SIZE = 500;

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ListHandlers<T> {
  /** One page of items, in the order the server sent them. */
  page(items: T[]): void;
  /** Items handed over so far do not count: the list starts again (continue token expired). */
  restart(): void;
}

/** A failed API request; `statusCode` is what isUnauthorized and callers test (as client-node's Watch errors). */
export class ApiStatusError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  constructor(statusCode: number, reason: string, message: string) {
    super(message);
    this.name = 'ApiStatusError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

interface ListBody<T> {
  items?: T[] | null;
  metadata?: { resourceVersion?: string; continue?: string };
}

async function getJson<T>(kc: KubeConfig, url: URL, continued: boolean, signal?: AbortSignal): Promise<ListBody<T>> {
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  // The rate limit charges a list once, not per page (kubeconfig.ts applyUnthrottled).
  if (continued && kc instanceof ProxyKubeConfig) await kc.applyUnthrottled(ctx);
  else await kc.applySecurityAuthentication(ctx);
  const res = await send(ctx, { headers: { Accept: 'application/json' }, ...(signal === undefined ? {} : { signal }) });
  const text = await readText(res);
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    const { reason, message } = parseStatus(text);
    throw new ApiStatusError(status, reason, `list ${url.pathname}: HTTP ${status}${reason ? ` ${reason}` : ''}: ${message}`);
  }
  return JSON.parse(text) as ListBody<T>;
}

/** POST a JSON object to `path` (a create); rejects with ApiStatusError unless the server answers 2xx. */
export async function postJson(kc: KubeConfig, path: string, body: unknown): Promise<void> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No currently active cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const ctx = new RequestContext(url.toString(), HttpMethod.POST);
  await kc.applySecurityAuthentication(ctx);
  const res = await send(ctx, { headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
  const text = await readText(res);
  const code = res.statusCode ?? 0;
  if (code < 200 || code > 299) {
    const status = parseStatus(text);
    throw new ApiStatusError(code, status.reason, `create ${url.pathname}: HTTP ${code}${status.reason ? ` ${status.reason}` : ''}: ${status.message}`);
  }
}

/** A Status body's reason and message, or the start of a body that is not one (a proxy's error page). */
function parseStatus(text: string): { reason: string; message: string } {
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    return { reason: status.reason ?? '', message: status.message ?? text.slice(0, 300) };
  } catch {
    return { reason: '', message: text.slice(0, 300) };
  }
}

/** List `path` page by page; resolves with the list's resourceVersion (what a watch resumes from). */
export async function listPaged<T>(
  kc: KubeConfig, path: string, query: ListQuery, handlers: ListHandlers<T>,
  opts: { pageSize?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No currently active cluster');
  const base = new URL(cluster.server.replace(/\/$/, '') + path);
  if (query.labelSelector) base.searchParams.set('labelSelector', query.labelSelector);
  if (query.fieldSelector) base.searchParams.set('fieldSelector', query.fieldSelector);
  const pageSize = opts.pageSize ?? LIST_PAGE_SIZE;
  let token: string | undefined;
  let paged = pageSize > 0;
  for (;;) {
    const url = new URL(base);
    if (paged) url.searchParams.set('limit', String(pageSize));
    if (token !== undefined) url.searchParams.set('continue', token);
    let body: ListBody<T>;
    try {
      body = await getJson<T>(kc, url, token !== undefined, opts.signal);
    } catch (err) {
      // The continue token's snapshot is gone: one full list, as client-go's pager does.
      if (!(err instanceof ApiStatusError && err.statusCode === 410 && token !== undefined)) throw err;
      handlers.restart();
      paged = false;
      token = undefined;
      continue;
    }
    handlers.page(body.items ?? []);
    const next = body.metadata?.continue;
    if (!paged || next === undefined || next === '') return body.metadata?.resourceVersion ?? '';
    token = next;
  }
}
