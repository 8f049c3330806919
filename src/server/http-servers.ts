// The two HTTP servers kube-proxy runs (cmd/kube-proxy/app/server.go): the health server on
// healthzBindAddress (default 0.0.0.0:10256) with /healthz and /livez for load balancers and the
// kubelet, plus our /readyz (see proxy-health.ts), and the metrics server on metricsBindAddress
// (default 127.0.0.1:10249) with /metrics, /proxyMode, /configz, /flagz, /statusz and a plain
// /healthz, as upstream's metrics mux, and ours, DAEMON_STATUS_PATH (JSON for `kube-proxy-ts status`). The health logic is the pure ProxyHealth.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from '../system/node-http.ts';
import type { Logger } from '../model/logger.ts';
import type { ProxyHealth, ProbeResult } from '../sync/proxy-health.ts';
import type { HealthMetrics } from '../sync/sync-metrics.ts';
import { listen, type RunningServer } from './listen.ts';
import { DAEMON_STATUS_PATH } from '../status/daemon-status.ts';
import { acceptsPlainText, NOT_ACCEPTABLE, renderFlagz, renderStatusz, ZPAGE_DELIMITERS } from './zpages.ts';

export type { RunningServer } from './listen.ts';

type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function serve(routes: Record<string, Route>, logger: Logger) {
  return http.createServer((req, res) => {
    const route = routes[pathOf(req)];
    if (route === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('404 page not found\n');
      return;
    }
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => {
        logger.error({ err, path: pathOf(req) }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end();
      });
  });
}

function probe(res: ServerResponse, result: ProbeResult): void {
  // Upstream sets both headers on /healthz and /livez (proxy_health.go).
  res.writeHead(result.status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
  res.end(JSON.stringify(result.body));
}

export interface HealthzServerOptions {
  readonly host: string;
  readonly port: number;
  readonly health: ProxyHealth;
  readonly metrics: HealthMetrics;
  readonly logger: Logger;
}

export async function startHealthzServer(opts: HealthzServerOptions): Promise<RunningServer> {
  const { health, metrics, logger } = opts;
  const server = serve(
    {
      '/healthz': (_req, res) => {
        const result = health.healthz();
        metrics.incProbe('healthz', result.status);
        probe(res, result);
      },
      '/livez': (_req, res) => {
        const result = health.livez();
        metrics.incProbe('livez', result.status);
        probe(res, result);
      },
      '/readyz': (_req, res) => probe(res, health.readyz()),
    },
    logger,
  );
  const running = await listen('healthz server', server, opts.host, opts.port);
  logger.info({ address: running.host, port: running.port }, 'healthz server listening');
  return running;
}

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly render: () => Promise<{ contentType: string; body: string }>;
  readonly proxyMode: string;
  /** The effective configuration as KubeProxyConfiguration v1alpha1 (apiVersion, kind) for /configz; omitted, 404. */
  readonly configz?: () => unknown;
  /** The command line's flags and values for /flagz (src/cli/flagz.ts); omitted, 404. */
  readonly flagz?: () => Readonly<Record<string, string>>;
  /** What /statusz reports; omitted, 404. */
  readonly statusz?: { readonly startedMs: number; readonly binaryVersion: string; readonly now?: () => number };
  /** Ours: the daemon's status as JSON for `kube-proxy-ts status` (src/status/) at DAEMON_STATUS_PATH; omitted, 404. */
  readonly daemonStatus?: () => unknown;
  readonly logger: Logger;
  /** Picks the zpages delimiter (tests pin it); default random, as upstream. */
  readonly pickDelimiter?: () => string;
}

/** The component name zpages print, upstream's. */
const COMPONENT = 'kube-proxy';
/** configz's key: upstream registers the config under its API group (configz.New(GroupName)). */
const CONFIGZ_GROUP = 'kubeproxy.config.k8s.io';

function zpage(req: IncomingMessage, res: ServerResponse, text: () => string): void {
  if (!acceptsPlainText(req.headers.accept)) {
    res.writeHead(406, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(`${NOT_ACCEPTABLE}\n`);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(text());
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<RunningServer> {
  const routes: Record<string, Route> = {
    '/metrics': async (_req, res) => {
      const { contentType, body } = await opts.render();
      res.writeHead(200, { 'Content-Type': contentType });
      res.end(body);
    },
    // Upstream writes the mode as plain text; scripts and e2e tests read it.
    '/proxyMode': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(opts.proxyMode);
    },
    // The generic k8s.io/apiserver healthz handler upstream installs on this mux: always "ok".
    '/healthz': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('ok');
    },
  };
  const configz = opts.configz;
  if (configz !== undefined) {
    routes['/configz'] = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ [CONFIGZ_GROUP]: configz() }));
    };
  }
  const daemonStatus = opts.daemonStatus;
  if (daemonStatus !== undefined) {
    routes[DAEMON_STATUS_PATH] = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(daemonStatus()));
    };
  }
  const delimiter = opts.pickDelimiter ?? ((): string => ZPAGE_DELIMITERS[Math.floor(Math.random() * ZPAGE_DELIMITERS.length)] ?? ':');
  const flagz = opts.flagz;
  if (flagz !== undefined) routes['/flagz'] = (req, res) => zpage(req, res, () => renderFlagz(COMPONENT, flagz(), delimiter()));
  const statusz = opts.statusz;
  if (statusz !== undefined) {
    routes['/statusz'] = (req, res) =>
      zpage(req, res, () =>
        renderStatusz({
          component: COMPONENT,
          startedMs: statusz.startedMs,
          nowMs: (statusz.now ?? Date.now)(),
          runtimeVersion: process.version,
          binaryVersion: statusz.binaryVersion,
          paths: Object.keys(routes),
          delimiter: delimiter(),
        }),
      );
  }
  const running = await listen('metrics server', serve(routes, opts.logger), opts.host, opts.port);
  opts.logger.info({ address: running.host, port: running.port }, 'metrics server listening');
  return running;
}
