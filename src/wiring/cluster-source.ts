// Part of the composition root (main.ts): the cluster source (API server or a manifests
// directory), the cluster state it fills, and the wait for the initial lists.
import { statSync } from 'node:fs';
import type { ProxyConfig } from '../config/types.ts';
import { KubeProxyError, ManifestError, type ObjectError } from '../errors.ts';
import { ClusterState } from '../model/cluster-state.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily } from '../model/types.ts';
import type { PromMetrics } from '../server/metrics.ts';
import { ManifestSource } from '../sources/manifest-source.ts';
import type { EventPoster } from '../sources/node-events.ts';
import type { ClusterSource } from '../sources/types.ts';

export async function createSource(config: ProxyConfig, logger: Logger, metrics?: PromMetrics): Promise<ClusterSource> {
  return (await createSourceAndEvents(config, logger, metrics)).source;
}

/** The source, and with an API server the poster of Events about this node (sources/node-events.ts). */
export async function createSourceAndEvents(
  config: ProxyConfig,
  logger: Logger,
  metrics?: PromMetrics,
): Promise<{ readonly source: ClusterSource; readonly events?: EventPoster }> {
  if (config.manifestsDir !== '') {
    // Fail before anything on the host is touched (sysctls, rules), not after.
    let isDir = false;
    try {
      isDir = statSync(config.manifestsDir).isDirectory();
    } catch (err) {
      throw new ManifestError(config.manifestsDir, 0, 'manifests directory unreadable', { cause: err });
    }
    if (!isDir) throw new ManifestError(config.manifestsDir, 0, 'not a directory');
    return { source: new ManifestSource({ dir: config.manifestsDir, nodeName: config.nodeName, log: logger.child({ component: 'manifests' }) }) };
  }
  // The API client (kube-config.ts and the informers) is loaded only for an API server: a
  // --manifests host never needs it.
  const [{ ApiSource }, { createKubeClient }, { loadKubeConfig }, { effectiveRateLimit }, { createEventPoster }] = await Promise.all([
    import('../sources/api-source.ts'),
    import('../sources/kube-client.ts'),
    import('../sources/kubeconfig.ts'),
    import('../sources/token-bucket.ts'),
    import('../sources/kube-event-poster.ts'),
  ]);
  const cc = config.clientConnection;
  const kc = loadKubeConfig({
    kubeconfig: cc.kubeconfig,
    master: cc.master,
    rateLimit: effectiveRateLimit(cc.qps, cc.burst),
    // client-go logs waits over a second (request.go tryThrottle); shorter ones only at debug.
    onThrottled: (waitedMs) => logger[waitedMs > 1000 ? 'info' : 'debug']({ waitedMs, qps: cc.qps, burst: cc.burst }, 'API request waiting for client-side rate limit'),
  });
  const source = new ApiSource({
    client: createKubeClient(kc),
    nodeName: config.nodeName,
    log: logger.child({ component: 'informer' }),
    ...(metrics ? { onRestart: (kind: string) => metrics.incWatchRestart(kind) } : {}),
  });
  return { source, events: createEventPoster(kc) };
}

export function createState(config: ProxyConfig, families: IPFamily[], logger: Logger, metrics?: PromMetrics): ClusterState {
  const log = logger.child({ component: 'model' });
  return new ClusterState({
    nodeName: config.nodeName,
    families,
    // Without a cluster there may be no Node object; with one, upstream waits for it.
    requireNode: config.manifestsDir === '',
    onInvalid: (err: ObjectError) => {
      log.warn({ object: err.key, reason: err.message }, 'invalid object ignored');
      metrics?.incInvalidObject(err.key.split(' ')[0] ?? 'unknown');
    },
  });
}

/** Wait until the state has its initial lists, or fail after `timeoutMs`. */
export function waitSynced(state: ClusterState, timeoutMs: number): Promise<void> {
  if (state.isSynced()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new KubeProxyError('KP_ERR_API', `cluster state not listed within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = state.onChange(() => {
      if (!state.isSynced()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
