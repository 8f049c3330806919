// Streaming lists (KEP-3157 WatchList, client-go's reflector with UseWatchList): one watch with
// `sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true` streams the
// current state as ADDED events and ends it with a BOOKMARK annotated `k8s.io/initial-events-end`,
// whose resourceVersion a watch resumes from. Objects arrive one at a time; no list response exists.
// A server that refuses it (422/400/403/405: feature gate off, an older API server) or ends the
// stream before the bookmark (one that ignored the parameters) gets WatchListUnsupported, and the
// caller falls back to a paginated list (api-list.ts), as client-go does.
// Authenticates exactly as watches do (see api-list.ts).
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { ApiStatusError, type ListQuery } from './api-list.ts';
import { readText, send } from './http-request.ts';
import type { KubeConfig } from './kube-config.ts';
import { HttpMethod, RequestContext } from './request-context.ts';

export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** The server does not serve streaming lists; list instead. */
export class WatchListUnsupported extends Error {}

const REFUSED = new Set([400, 403, 405, 422]);

interface WatchEvent {
  type?: string;
  object?: { metadata?: { resourceVersion?: string; annotations?: Record<string, string> }; code?: number; reason?: string; message?: string };
}

/** Stream the initial state of `path` into `item`; resolves with the resourceVersion of its end. */
export async function streamList<T>(
  kc: KubeConfig, path: string, query: ListQuery, item: (obj: T) => void,
  opts: { timeoutSeconds: number; signal: AbortSignal },
): Promise<string> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No currently active cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const params: Record<string, string | undefined> = {
    watch: 'true', sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true',
    timeoutSeconds: String(opts.timeoutSeconds), labelSelector: query.labelSelector, fieldSelector: query.fieldSelector,
  };
  for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  // Our own controller: the stream is closed once its initial events are in (the caller's watch
  // resumes from the bookmark), and when the caller aborts.
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  opts.signal.addEventListener('abort', abort, { once: true });
  let body: IncomingMessage | undefined;
  try {
    const res = await send(ctx, { signal: controller.signal });
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const text = await readText(res);
      const message = `watch-list ${url.pathname}: HTTP ${status}: ${text.slice(0, 300)}`;
      if (REFUSED.has(status)) throw new WatchListUnsupported(message);
      throw new ApiStatusError(status, '', message);
    }
    body = res;
    // Closing the stream below (we stop reading at the end bookmark) aborts the body: the expected
    // end. A read error before that is thrown after the loop.
    let readError: Error | undefined;
    body.on('error', (err: Error) => { readError = err; });
    const lines = createInterface({ input: body, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line === '') continue;
      const ev = JSON.parse(line) as WatchEvent;
      const meta = ev.object?.metadata;
      if (ev.type === 'ADDED') item(ev.object as T);
      else if (ev.type === 'BOOKMARK' && meta?.annotations?.[INITIAL_EVENTS_END] === 'true') return meta.resourceVersion ?? '';
      else if (ev.type === 'ERROR') {
        const code = ev.object?.code ?? 0;
        throw new ApiStatusError(code, ev.object?.reason ?? '', `watch-list ${url.pathname}: ${ev.object?.message ?? 'ERROR event'}`);
      }
    }
    if (opts.signal.aborted) throw new Error(`watch-list ${url.pathname}: aborted`);
    if (readError !== undefined) throw readError;
    throw new WatchListUnsupported(`watch-list ${url.pathname}: the stream ended before its ${INITIAL_EVENTS_END} bookmark`);
  } finally {
    opts.signal.removeEventListener('abort', abort);
    body?.destroy();
    controller.abort();
  }
}
