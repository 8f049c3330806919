// One watch request, as client-node 2.0.1's Watch makes it (watch.js): `watch=true` and the query,
// authenticated by the KubeConfig, one JSON event per line to `callback(type, object, event)`
// (unparsable lines skipped), and `done` called exactly once: null on a clean end, the error
// otherwise (HTTP status as `statusCode`, a TimeoutError after 30 s without a byte, connect
// included). Resolves with the controller that ends the request.
import { http } from '../system/node-http.ts';
import { createInterface } from 'node:readline';
import { send } from './http-request.ts';
import type { KubeConfig } from './kube-config.ts';
import { HttpMethod, RequestContext } from './request-context.ts';

export type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

export class Watch {
  /** client-node's inactivity timeout. */
  requestTimeoutMs = 30_000;
  readonly config: KubeConfig;

  constructor(config: KubeConfig) {
    this.config = config;
  }

  async watch(
    path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: WatchCallback, done: (err: unknown) => void,
  ): Promise<AbortController> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(queryParams)) if (v !== undefined) url.searchParams.set(k, v.toString());
    const controller = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const clearTimer = (): void => {
      clearTimeout(timer);
      timer = undefined;
    };
    const resetTimer = (): void => {
      clearTimer();
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      }, this.requestTimeoutMs);
      timer.unref();
    };
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await this.config.applySecurityAuthentication(ctx);
    let doneCalled = false;
    const doneOnce = (err: unknown): void => {
      if (doneCalled) return;
      doneCalled = true;
      clearTimer();
      controller.abort();
      done(err && timedOut ? new DOMException('The operation was aborted due to timeout', 'TimeoutError') : err);
    };
    try {
      resetTimer();
      const res = await send(ctx, { signal: controller.signal });
      if (res.statusCode !== 200) {
        // The body is drained and dropped; a connection cut meanwhile ends this watch like any error.
        res.on('error', doneOnce);
        res.resume();
        const status = res.statusCode ?? 0;
        throw Object.assign(new Error(res.statusMessage || http.STATUS_CODES[status] || 'Internal Server Error'), { statusCode: status });
      }
      // The connect timeout is over; from here on it is an inactivity timeout.
      resetTimer();
      res.on('error', doneOnce);
      res.on('close', () => doneOnce(null));
      res.on('data', resetTimer);
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('error', doneOnce);
      lines.on('close', () => doneOnce(null));
      lines.on('line', (line) => {
        // As client-node: an unparsable line, or a callback that throws, is skipped.
        try {
          const data = JSON.parse(line) as { type?: string; object?: unknown };
          callback(data.type ?? '', data.object, data);
        } catch {
          return;
        }
      });
    } catch (err) {
      doneOnce(err);
    }
    return controller;
  }
}
