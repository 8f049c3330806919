// The API-server ClusterSource: one supervised informer (list-watch.ts) each for Services and
// EndpointSlices (kube-proxy's label selector), for this node's Node (field selector by name) and
// for all ServiceCIDRs, as kube-proxy's ServiceConfig / EndpointSliceConfig / NodeConfig /
// ServiceCIDRConfig informers do (cmd/kube-proxy/app/server.go, pkg/proxy/runner.go). The first
// sync does not wait for ServiceCIDRs (a cluster older than v1.33 has no networking.k8s.io/v1
// ServiceCIDR; its informer just keeps retrying). Resilience lives in informer-supervisor.ts.
import type { Logger } from '../model/logger.ts';
import { API_REQUESTS, collectionPath } from './api-requests.ts';
import type { KubeClient } from './kube-client.ts';
import { InformerSupervisor } from './informer-supervisor.ts';
import type { SupervisorTiming } from './informer-supervisor.ts';
import { newSourceStats } from './source-stats.ts';
import type { SourceStats } from './source-stats.ts';
import { SERVICE_LABEL_SELECTOR } from './types.ts';
import type { ClusterSource, ClusterStateSink, ObjectKind } from './types.ts';

export interface ApiSourceOptions {
  client: KubeClient;
  /** This node's name (`--hostname-override` or the hostname); its Node object is watched. */
  nodeName: string;
  log: Logger;
  /** Defaults below suit production; tests shorten them. */
  timing?: Partial<SupervisorTiming>;
  /** Watch the Node (needed for topology hints and node-port addresses); default true. */
  watchNode?: boolean;
  /** Objects per list page (default 500, as client-go); 0 lists each kind in one response. */
  pageSize?: number;
  /** Try streaming lists (WatchList) first, falling back to pages; default true. */
  watchList?: boolean;
  /** Watch ServiceCIDRs (the nftables mode reads them); default true. */
  watchServiceCIDRs?: boolean;
  random?: () => number;
  /** Told of every watch restart, with the kind (feeds kubeproxy_source_watch_restarts_total). */
  onRestart?: (kind: ObjectKind) => void;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  // Bookmarks (asked for) or the server timeout end the silence well before this.
  stallTimeoutMs: 11 * 60_000,
  watchTimeoutSeconds: 300,
  relistPeriodMs: 0,
};

export class ApiSource implements ClusterSource {
  /** Live counters, per kind, for the metrics endpoint. */
  readonly stats: SourceStats = newSourceStats();
  private readonly opts: ApiSourceOptions;
  private supervisors: InformerSupervisor<ObjectKind>[] = [];

  constructor(opts: ApiSourceOptions) {
    this.opts = opts;
  }

  /** Starts all informers; resolves once each has listed once or scheduled a retry (watch `sink.synced`). */
  async start(sink: ClusterStateSink): Promise<void> {
    const { client, log, nodeName } = this.opts;
    const timing = { ...DEFAULT_TIMING, ...this.opts.timing };
    const common = {
      kc: client.kc, sink, timing,
      ...(this.opts.random ? { random: this.opts.random } : {}),
      ...(this.opts.onRestart ? { onRestart: this.opts.onRestart } : {}),
      ...(client.onUnauthorized ? { onUnauthorized: client.onUnauthorized } : {}),
    };
    const make = <K extends ObjectKind>(kind: K, selectors: { labelSelector?: string; fieldSelector?: string }): InformerSupervisor<K> => new InformerSupervisor<K>({
      // The list and watch path comes from the request list the ClusterRole is checked against.
      ...common, ...selectors, kind, path: collectionPath(API_REQUESTS[kind]), stats: this.stats[kind], log: log.child({ resource: kind }),
      ...(this.opts.pageSize === undefined ? {} : { pageSize: this.opts.pageSize }),
      ...(this.opts.watchList === undefined ? {} : { watchList: this.opts.watchList }),
    });
    const labelSelector = SERVICE_LABEL_SELECTOR;
    const fieldSelector = `metadata.name=${nodeName}`;
    const sups: InformerSupervisor<ObjectKind>[] = [
      make('Service', { labelSelector }),
      make('EndpointSlice', { labelSelector }),
    ] as InformerSupervisor<ObjectKind>[];
    if (this.opts.watchNode !== false) {
      sups.push(make('Node', { fieldSelector }) as InformerSupervisor<ObjectKind>);
    }
    if (this.opts.watchServiceCIDRs !== false) {
      sups.push(make('ServiceCIDR', {}) as InformerSupervisor<ObjectKind>);
    }
    this.supervisors = sups;
    await Promise.all(sups.map((s) => s.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.supervisors.map((s) => s.stop()));
  }
}
