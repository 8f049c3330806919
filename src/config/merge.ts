// How command-line flags and the `--config` file combine, as upstream's Options.Complete does it
// (cmd/kube-proxy/app/options.go):
//
// 1. Without `--config`, the flags are applied on top of the v1alpha1 defaults.
// 2. With `--config`, the file REPLACES the flag-built config: a KubeProxyConfiguration flag such
//    as `--proxy-mode` or `--iptables-sync-period` is ignored (upstream's help text: "ignored if a
//    config file is specified by --config"). Three kinds of flag still win over the file:
//    - the logging flags set explicitly (`-v`, `--logging-format`; copyLogsFromFlags), so that
//      `--config … -v=5` works, plus our `--log-level`;
//    - `--hostname-override` when non-empty (processHostnameOverrideFlag), which kubeadm's
//      DaemonSet passes as `--hostname-override=$(NODE_NAME)` next to `--config`;
//    - flags that are not part of KubeProxyConfiguration at all: `--master` (upstream keeps it
//      outside the config and always passes it to the client), `--cleanup`, `--init-only`, and ours
//      (`--manifests`, `--dry-run`, `--iptables-backend`).
// Only explicitly given flags are in FlagValues, which is how "set explicitly" is known.
import { ConfigError } from '../errors.ts';
import { defaultConfig, nodeNameFor } from './defaults.ts';
import type { DetectLocalMode, HostPort, IptablesBackend, LogFormat, LogLevel, ProxyConfig } from './types.ts';
import type { ProxyMode } from '../model/types.ts';

/** The flags given on the command line, parsed into domain values (durations in ms). */
/** What a mode defaults differently from the rest (a registry entry's `configDefaults`). */
export interface ModeConfigDefaults {
  /** Used when nodePortAddresses is empty (upstream platformApplyDefaults). */
  readonly nodePortAddresses?: readonly string[];
}

export interface FlagValues {
  // KubeProxyConfiguration flags: used only without --config.
  readonly proxyMode?: ProxyMode;
  readonly kubeconfig?: string;
  readonly kubeApiQps?: number;
  readonly kubeApiBurst?: number;
  readonly bindAddress?: string;
  /** null: given empty, which disables the server. */
  readonly healthzBindAddress?: HostPort | null;
  readonly metricsBindAddress?: HostPort | null;
  /** Deprecated upstream flags: 0 disables the server, another value replaces the port. */
  readonly healthzPort?: number;
  readonly metricsPort?: number;
  readonly bindAddressHardFail?: boolean;
  readonly profiling?: boolean;
  readonly clusterCIDRs?: readonly string[];
  readonly nodePortAddresses?: readonly string[];
  readonly masqueradeAll?: boolean;
  readonly iptablesMasqueradeBit?: number;
  readonly iptablesSyncPeriodMs?: number;
  readonly iptablesMinSyncPeriodMs?: number;
  readonly iptablesLocalhostNodePorts?: boolean;
  readonly ipvsScheduler?: string;
  readonly ipvsStrictARP?: boolean;
  readonly ipvsSyncPeriodMs?: number;
  readonly ipvsMinSyncPeriodMs?: number;
  readonly ipvsExcludeCIDRs?: readonly string[];
  readonly ipvsTcpTimeoutMs?: number;
  readonly ipvsTcpFinTimeoutMs?: number;
  readonly ipvsUdpTimeoutMs?: number;
  readonly conntrackMaxPerCore?: number;
  readonly conntrackMin?: number;
  readonly conntrackTcpEstablishedTimeoutMs?: number;
  readonly conntrackTcpCloseWaitTimeoutMs?: number;
  readonly conntrackTcpBeLiberal?: boolean;
  readonly conntrackUdpTimeoutMs?: number;
  readonly conntrackUdpStreamTimeoutMs?: number;
  readonly detectLocalMode?: DetectLocalMode;
  readonly podBridgeInterface?: string;
  readonly podInterfaceNamePrefix?: string;
  readonly oomScoreAdj?: number;
  readonly configSyncPeriodMs?: number;
  readonly featureGates?: Readonly<Record<string, boolean>>;
  // Logging flags: win over the file when given.
  readonly verbosity?: number;
  readonly logFormat?: LogFormat;
  readonly logLevel?: LogLevel;
  // Always from the command line.
  readonly hostnameOverride?: string;
  readonly master?: string;
  readonly cleanup?: boolean;
  readonly initOnly?: boolean;
  readonly manifestsDir?: string;
  readonly dryRun?: boolean;
  readonly iptablesBackend?: IptablesBackend;
}

function server(base: HostPort | null, addr: HostPort | null | undefined, port: number | undefined): HostPort | null {
  const hp = addr === undefined ? base : addr;
  if (port === undefined) return hp;
  return port === 0 || hp === null ? null : { host: hp.host, port };
}

/** Apply the KubeProxyConfiguration flags on top of `base` (upstream: flags bound onto defaults). */
export function applyConfigFlags(base: ProxyConfig, f: FlagValues): ProxyConfig {
  const masqueradeAll = f.masqueradeAll;
  return {
    ...base,
    mode: f.proxyMode ?? base.mode,
    bindAddress: f.bindAddress ?? base.bindAddress,
    healthzBindAddress: server(base.healthzBindAddress, f.healthzBindAddress, f.healthzPort),
    metricsBindAddress: server(base.metricsBindAddress, f.metricsBindAddress, f.metricsPort),
    bindAddressHardFail: f.bindAddressHardFail ?? base.bindAddressHardFail,
    enableProfiling: f.profiling ?? base.enableProfiling,
    clientConnection: {
      ...base.clientConnection,
      kubeconfig: f.kubeconfig ?? base.clientConnection.kubeconfig,
      qps: f.kubeApiQps ?? base.clientConnection.qps,
      burst: f.kubeApiBurst ?? base.clientConnection.burst,
    },
    configSyncPeriodMs: f.configSyncPeriodMs ?? base.configSyncPeriodMs,
    clusterCIDRs: f.clusterCIDRs ?? base.clusterCIDRs,
    detectLocalMode: f.detectLocalMode ?? base.detectLocalMode,
    detectLocal: {
      bridgeInterface: f.podBridgeInterface ?? base.detectLocal.bridgeInterface,
      interfaceNamePrefix: f.podInterfaceNamePrefix ?? base.detectLocal.interfaceNamePrefix,
    },
    nodePortAddresses: f.nodePortAddresses ?? base.nodePortAddresses,
    oomScoreAdj: f.oomScoreAdj ?? base.oomScoreAdj,
    featureGates: f.featureGates ?? base.featureGates,
    iptables: {
      ...base.iptables,
      masqueradeBit: f.iptablesMasqueradeBit ?? base.iptables.masqueradeBit,
      masqueradeAll: masqueradeAll ?? base.iptables.masqueradeAll,
      localhostNodePorts: f.iptablesLocalhostNodePorts ?? base.iptables.localhostNodePorts,
      syncPeriodMs: f.iptablesSyncPeriodMs ?? base.iptables.syncPeriodMs,
      minSyncPeriodMs: f.iptablesMinSyncPeriodMs ?? base.iptables.minSyncPeriodMs,
    },
    ipvs: {
      syncPeriodMs: f.ipvsSyncPeriodMs ?? base.ipvs.syncPeriodMs,
      minSyncPeriodMs: f.ipvsMinSyncPeriodMs ?? base.ipvs.minSyncPeriodMs,
      scheduler: f.ipvsScheduler ?? base.ipvs.scheduler,
      excludeCIDRs: f.ipvsExcludeCIDRs ?? base.ipvs.excludeCIDRs,
      strictARP: f.ipvsStrictARP ?? base.ipvs.strictARP,
      tcpTimeoutMs: f.ipvsTcpTimeoutMs ?? base.ipvs.tcpTimeoutMs,
      tcpFinTimeoutMs: f.ipvsTcpFinTimeoutMs ?? base.ipvs.tcpFinTimeoutMs,
      udpTimeoutMs: f.ipvsUdpTimeoutMs ?? base.ipvs.udpTimeoutMs,
    },
    // --masquerade-all is one Linux-wide setting upstream (config.Linux.MasqueradeAll).
    nftables: { ...base.nftables, masqueradeAll: masqueradeAll ?? base.nftables.masqueradeAll },
    conntrack: {
      maxPerCore: f.conntrackMaxPerCore ?? base.conntrack.maxPerCore,
      min: f.conntrackMin ?? base.conntrack.min,
      tcpEstablishedTimeoutMs: f.conntrackTcpEstablishedTimeoutMs ?? base.conntrack.tcpEstablishedTimeoutMs,
      tcpCloseWaitTimeoutMs: f.conntrackTcpCloseWaitTimeoutMs ?? base.conntrack.tcpCloseWaitTimeoutMs,
      tcpBeLiberal: f.conntrackTcpBeLiberal ?? base.conntrack.tcpBeLiberal,
      udpTimeoutMs: f.conntrackUdpTimeoutMs ?? base.conntrack.udpTimeoutMs,
      udpStreamTimeoutMs: f.conntrackUdpStreamTimeoutMs ?? base.conntrack.udpStreamTimeoutMs,
    },
  };
}

/** Apply the flags that win over the file: logging, and those outside KubeProxyConfiguration. */
export function applyOverridingFlags(base: ProxyConfig, f: FlagValues): ProxyConfig {
  const logging = {
    format: f.logFormat ?? base.logging.format,
    verbosity: f.verbosity ?? base.logging.verbosity,
    ...(f.logLevel !== undefined ? { level: f.logLevel } : base.logging.level !== undefined ? { level: base.logging.level } : {}),
  };
  return {
    ...base,
    logging,
    clientConnection: { ...base.clientConnection, master: f.master ?? base.clientConnection.master },
    iptables: { ...base.iptables, backend: f.iptablesBackend ?? base.iptables.backend },
    cleanup: f.cleanup ?? base.cleanup,
    ...(f.initOnly !== undefined ? { initOnly: f.initOnly } : base.initOnly !== undefined ? { initOnly: base.initOnly } : {}),
    manifestsDir: f.manifestsDir ?? base.manifestsDir,
    dryRun: f.dryRun ?? base.dryRun,
  };
}

/**
 * The effective config: the file if there is one, else defaults + flags; then the overriding
 * flags and the node name; then the configured mode's own defaults (`modeDefaults`, from the mode
 * registry: nftables serves NodePorts on the primary node IPs). Throws ConfigError when no node
 * name can be derived.
 */
export function resolveConfig(input: {
  readonly file?: ProxyConfig;
  readonly flags: FlagValues;
  readonly hostname: string;
  readonly modeDefaults?: ReadonlyMap<string, ModeConfigDefaults | undefined>;
}): ProxyConfig {
  const { file, flags } = input;
  let config = applyOverridingFlags(file ?? applyConfigFlags(defaultConfig(), flags), flags);
  // processHostnameOverrideFlag: only a non-empty flag counts; blank after trimming is an error.
  if (flags.hostnameOverride !== undefined && flags.hostnameOverride !== '') {
    const name = flags.hostnameOverride.trim().toLowerCase();
    if (name === '') throw new ConfigError('--hostname-override', 'must not be blank');
    config = { ...config, hostnameOverride: name };
  }
  const nodeName = nodeNameFor(config.hostnameOverride, input.hostname);
  if (nodeName === null) throw new ConfigError('hostnameOverride', 'no node name: the hostname is empty and no override is set');
  // upstream platformApplyDefaults: a mode's own default where the config leaves the field empty.
  const own = input.modeDefaults?.get(config.mode);
  if (own?.nodePortAddresses !== undefined && config.nodePortAddresses.length === 0) config = { ...config, nodePortAddresses: [...own.nodePortAddresses] };
  return { ...config, nodeName };
}
