// The daemon's configuration after parsing and defaulting: KubeProxyConfiguration v1alpha1 turned
// into domain types (durations in ms, CIDRs parsed to strings validated as CIDRs, host:port split).
// Close to the v1alpha2 shape so a later conversion is cheap (../shared/reference/ecosystem.md §1.2).
import type { ProxyMode } from '../model/types.ts';

export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';
export type LogFormat = 'json' | 'text';
/** pino's level names; `--log-level` sets one directly, otherwise it follows klog's `-v`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
/** Which iptables back-end: auto-detect as upstream's iptables-wrapper does, or forced. */
export type IptablesBackend = 'auto' | 'legacy' | 'nft';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ProxyConfig {
  readonly mode: ProxyMode;
  readonly hostnameOverride: string;
  /** The node name: hostnameOverride, else the hostname, lower-cased. */
  readonly nodeName: string;
  readonly bindAddress: string;
  /** null disables the server. */
  readonly healthzBindAddress: HostPort | null;
  readonly metricsBindAddress: HostPort | null;
  readonly bindAddressHardFail: boolean;
  readonly clientConnection: {
    readonly kubeconfig: string;
    readonly master: string;
    readonly qps: number;
    readonly burst: number;
  };
  readonly configSyncPeriodMs: number;
  readonly clusterCIDRs: readonly string[];
  readonly detectLocalMode: DetectLocalMode;
  readonly detectLocal: { readonly bridgeInterface: string; readonly interfaceNamePrefix: string };
  /** CIDRs, or the single keyword 'primary' (the node's primary IPs); empty means all addresses. */
  readonly nodePortAddresses: readonly string[];
  readonly oomScoreAdj: number;
  readonly featureGates: Readonly<Record<string, boolean>>;
  readonly iptables: {
    readonly masqueradeBit: number;
    readonly masqueradeAll: boolean;
    readonly localhostNodePorts: boolean;
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
    readonly backend: IptablesBackend;
  };
  readonly ipvs: {
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
    readonly scheduler: string;
    readonly excludeCIDRs: readonly string[];
    readonly strictARP: boolean;
    readonly tcpTimeoutMs: number;
    readonly tcpFinTimeoutMs: number;
    readonly udpTimeoutMs: number;
  };
  readonly nftables: {
    readonly masqueradeBit: number;
    readonly masqueradeAll: boolean;
    readonly syncPeriodMs: number;
    readonly minSyncPeriodMs: number;
  };
  readonly conntrack: {
    readonly maxPerCore: number;
    readonly min: number;
    readonly tcpEstablishedTimeoutMs: number;
    readonly tcpCloseWaitTimeoutMs: number;
    readonly tcpBeLiberal: boolean;
    readonly udpTimeoutMs: number;
    readonly udpStreamTimeoutMs: number;
  };
  readonly logging: {
    readonly format: LogFormat;
    /** klog verbosity (`-v`, `logging.verbosity`). */
    readonly verbosity: number;
    /** Ours: `--log-level`; when set it wins over `verbosity`. Use `effectiveLogLevel()` (defaults.ts). */
    readonly level?: LogLevel;
  };
  /** `enableProfiling` / `--profiling`: accepted for compatibility (no pprof in Node); absent = false. */
  readonly enableProfiling?: boolean;
  /** Ours: run from a directory of manifests instead of an API server ('' when unset). */
  readonly manifestsDir: string;
  /** Ours: print what would be programmed and exit, touching nothing. */
  readonly dryRun: boolean;
  readonly cleanup: boolean;
  /** `--init-only`: the privileged start-up steps, then exit (absent = false). */
  readonly initOnly?: boolean;
}
