// What a proxy mode provides to the composition root: its whole lifecycle, from "can it run on this
// host" to "remove what it left". main.ts and src/wiring/ only look a mode up in the registry
// (modes.ts) and call these; nothing outside a mode's folder asks which mode is running. A new
// mode is a folder under src/backends/ exporting one ModeEntry, plus its line in modes.ts.
import type { ModeConfigDefaults } from '../config/merge.ts';
import type { ModeDeprecation, ModeFeatureGate } from '../config/mode-warnings.ts';
import type { NodeIPs } from '../config/node-ips.ts';
import type { IptablesBackend, ProxyConfig } from '../config/types.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily, Proxier, ProxyMode } from '../model/types.ts';
import type { BackendMetrics } from '../sync/sync-metrics.ts';
import type { Exec } from '../system/exec.ts';
import type { BackendChoice } from '../system/detect-iptables-backend.ts';
import type { Iptables } from '../system/iptables.ts';
import type { Sysctl } from '../system/sysctl.ts';
import type { IpvsTimeouts } from '../netlink/ipvs.ts';
import type { ModeChains } from './common/foreign-chains.ts';
import type { TraceQuery, TraceReport } from '../trace/trace-types.ts';

/** The bounded-frequency runner's periods for this mode (upstream: the mode's config section). */
export interface SyncPeriods {
  readonly syncPeriodMs: number;
  readonly minSyncPeriodMs: number;
}

export interface HostFamilyDeps {
  readonly config: ProxyConfig;
  readonly exec: Exec;
  readonly logger: Logger;
  /** The families the kernel has (IPv6 where /proc/sys/net/ipv6 exists). */
  readonly kernelFamilies: readonly IPFamily[];
}

export interface ProxierDeps {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly exec: Exec;
  readonly logger: Logger;
  /** Upstream's restore-failure counters; every mode that writes rules reports them. */
  readonly metrics?: BackendMetrics;
  /** --dry-run output. */
  readonly write?: (text: string) => void;
  /** The iptables back-end detected once at start (src/wiring/run-iptables-backend.ts); null for --dry-run. */
  readonly backend: BackendChoice | null;
  /** The node's IPs, from its Node object or bindAddress (src/wiring/node-ip-tracker.ts). */
  readonly nodeIPs: NodeIPs;
}

/** The IPVS handle --init-only needs: opening it is the kernel check (the error names the modules). */
export interface IpvsTimeoutSetter {
  setTimeouts(t: IpvsTimeouts): Promise<void>;
  close(): void;
}

export interface InitOnlyDeps {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly sysctl: Sysctl;
  readonly logger: Logger;
  /** Where a mode opens IPVS (tests pass their own); defaults to the kernel's. */
  readonly openIpvs?: () => Promise<IpvsTimeoutSetter>;
  readonly kernelRelease?: string;
}

export interface CleanupDeps {
  readonly exec: Exec;
  readonly logger: Logger;
  /** --iptables-backend: `auto` cleans both back-ends, `legacy`/`nft` only that one. */
  readonly iptablesBackend: IptablesBackend;
}

/** What a mode gets to remove its state beside iptables chains when another mode starts. */
export interface ForeignStateDeps {
  readonly family: IPFamily;
  readonly exec: Exec;
  readonly logger: Logger;
  /** The running mode's back-end, for this family. */
  readonly iptables: Iptables;
  /**
   * Removes the other modes' chains (keeping the running mode's); a mode whose state must go
   * before or after its chains calls it at that point. Runs at most once; called after otherwise.
   */
  readonly removeChains: () => Promise<void>;
}

/** What a mode leaves on a node, so that another mode starting there recognises and removes it. */
export interface ModeLeftovers {
  /** The chains it writes in iptables (pure data): removed unless the running mode uses them too. */
  readonly chains?: ModeChains;
  /** State outside the iptables chains (IPVS virtual servers, kube-ipvs0, ipsets). */
  removeState?(d: ForeignStateDeps): Promise<void>;
}

export interface TraceReadDeps {
  readonly exec: Exec;
  readonly family: IPFamily;
}

/** `kube-proxy-ts trace`: this mode's state, read live or from a saved dump, and its tracer. */
export interface ModeTrace {
  /** Whether a saved dump (--state without --mode) is this mode's. */
  recognises(state: string): boolean;
  /** The live state, in the format --state takes; null when the kernel holds nothing of this mode. */
  readState(d: TraceReadDeps): Promise<string | null>;
  /** Pure: where the packet goes; throws TraceInputError on a state it cannot read. */
  trace(state: string, q: TraceQuery): TraceReport;
}

export interface ModeEntry {
  readonly name: ProxyMode;
  /** The IP families this mode can proxy on this host; throws when none. */
  hostFamilies(d: HostFamilyDeps): Promise<IPFamily[]>;
  syncPeriods(config: ProxyConfig): SyncPeriods;
  /** --init-only: the mode's privileged kernel settings (beyond the conntrack sysctls every mode sets). */
  initOnly(d: InitOnlyDeps): Promise<void>;
  /** One proxier per family, real or --dry-run (config.dryRun). */
  createProxiers(d: ProxierDeps): Promise<Proxier[]>;
  /** --cleanup: remove this mode's own state (runs for every mode, whatever the configured one). */
  cleanup(d: CleanupDeps): Promise<void>;
  readonly leftovers: ModeLeftovers;
  /** The proxiers compare the kernel with what they wrote, at most once per syncPeriod (kubeproxyts_ruleset_drift). */
  readonly checksDrift?: boolean;
  /** Config fields this mode defaults differently (nftables: NodePorts on the primary node IPs). */
  readonly configDefaults?: ModeConfigDefaults;
  /** A feature gate that turns the mode off (ipvs: KubeProxyIPVS, v1.37). */
  readonly featureGate?: ModeFeatureGate;
  /** A deprecated mode's announcement at start (log line and Node Event), as upstream's createProxier. */
  readonly deprecation?: ModeDeprecation;
  /**
   * `kube-proxy-ts trace` for this mode (modes without it are refused by name): a loader, so that
   * the tracer's modules are imported only by the trace command, never by the daemon (issue 14).
   */
  readonly trace?: () => Promise<ModeTrace>;
}
