// Domain types: Services and endpoints as kube-proxy sees them, after parsing at the edge.
// Shapes follow upstream pkg/proxy (BaseServicePortInfo, BaseEndpointInfo); each IP family gets
// its own ServicePort view, as upstream runs one proxier per family (pkg/proxy/runner.go).

export type IPFamily = 'IPv4' | 'IPv6';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type ProxyMode = 'iptables' | 'ipvs' | 'userspace' | 'nftables';

/** `namespace/name`. */
export type NamespacedName = string;

/**
 * Upstream ServicePortName.String(): `ns/name:portName`, or `ns/name` when the port is unnamed.
 * Unique within a family (a Service's port names are unique), so it keys every per-port map.
 */
export type ServicePortName = string;

export interface SessionAffinity {
  readonly type: 'None' | 'ClientIP';
  /** ClientIP timeout in seconds (upstream default 10800); 0 when type is None. */
  readonly timeoutSeconds: number;
}

export interface ServicePort {
  readonly name: ServicePortName;
  readonly namespace: string;
  readonly serviceName: string;
  /** The Service port's name ('' when unnamed). */
  readonly portName: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  /** The ClusterIP of this family. */
  readonly clusterIP: string;
  readonly port: number;
  /** 0 when the Service has no NodePort. */
  readonly nodePort: number;
  /** externalIPs of this family. */
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress[].ip of this family (ipMode Proxy entries excluded, as upstream). */
  readonly loadBalancerVIPs: readonly string[];
  /** Normalised CIDRs of this family (`1.2.3.4` becomes `1.2.3.4/32`). */
  readonly loadBalancerSourceRanges: readonly string[];
  readonly sessionAffinity: SessionAffinity;
  /** externalTrafficPolicy: Local (only meaningful for external addresses). */
  readonly externalPolicyLocal: boolean;
  /** internalTrafficPolicy: Local. */
  readonly internalPolicyLocal: boolean;
  /** 0 when none. */
  readonly healthCheckNodePort: number;
  /** spec.trafficDistribution, e.g. 'PreferClose' ('' when unset). */
  readonly trafficDistribution: string;
  /** The service.kubernetes.io/topology-mode (or legacy topology-aware-hints) annotation ('' when unset). */
  readonly topologyMode: string;
}

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  /** conditions.ready (nil counts as true, as upstream). */
  readonly ready: boolean;
  /** conditions.serving (nil falls back to ready). */
  readonly serving: boolean;
  /** conditions.terminating (nil counts as false). */
  readonly terminating: boolean;
  /** nodeName equals this node's name. */
  readonly isLocal: boolean;
  readonly nodeName: string;
  readonly zone: string;
  /** hints.forZones names; undefined when the endpoint carries no zone hints. */
  readonly zoneHints: readonly string[] | undefined;
  /** hints.forNodes names; undefined when the endpoint carries no node hints. */
  readonly nodeHints: readonly string[] | undefined;
}

export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** topology.kubernetes.io/zone ('' when unset). */
  readonly zone: string;
  readonly podCIDRs: readonly string[];
  /** No deletionTimestamp and no ToBeDeletedByClusterAutoscaler taint (upstream proxy_health.go). */
  readonly eligible: boolean;
}

/**
 * What a proxier is asked to program in one sync: the whole desired state of one family, plus
 * which service ports changed since this proxier's last *successful* sync (so a partial sync can
 * skip the rest). `full` asks for everything to be rewritten (first sync, after a failure, periodic).
 */
export interface ProxyState {
  readonly family: IPFamily;
  readonly services: ReadonlyMap<ServicePortName, ServicePort>;
  /** Every endpoint of each service port, unfiltered; topology selection happens per backend. */
  readonly endpoints: ReadonlyMap<ServicePortName, readonly Endpoint[]>;
  readonly node: NodeInfo;
  /**
   * This family's ServiceCIDRs (networking.k8s.io/v1, every object's spec.cidrs), normalised and
   * sorted; empty while none is known (manifests without ServiceCIDRs, a cluster before v1.33).
   * Optional so states built by hand (tests, tools) need not name it.
   */
  readonly serviceCIDRs?: readonly string[];
  readonly changedServices: ReadonlySet<ServicePortName>;
  readonly changedEndpoints: ReadonlySet<ServicePortName>;
  /** Endpoints that went away since the last sync (for UDP conntrack clean-up), by service port. */
  readonly removedEndpoints: ReadonlyMap<ServicePortName, readonly Endpoint[]>;
  /**
   * Service ports present at the last successful sync and gone now, with their last value (for
   * UDP conntrack clean-up of deleted Service IPs, as upstream's UpdateServiceMapResult).
   */
  readonly removedServices?: ReadonlyMap<ServicePortName, ServicePort>;
  readonly full: boolean;
}

export interface SyncResult {
  /** Whether the proxier applied a full or partial update (for the sync_full/partial metrics). */
  readonly kind: 'full' | 'partial' | 'noop';
  /** Rule/entry counts per label (e.g. `{ 'nat-rules': 120 }`) for kubeproxy_sync_proxy_rules_*_total. */
  readonly counts?: Readonly<Record<string, number>>;
}

/** A proxy mode. The sync runner calls `sync` (never concurrently); an error is logged, counted and retried. */
export interface Proxier {
  readonly mode: ProxyMode;
  readonly family: IPFamily;
  sync(state: ProxyState): Promise<SyncResult>;
  /** Stop background work (timers, sockets) without touching programmed rules. */
  close?(): Promise<void>;
}
