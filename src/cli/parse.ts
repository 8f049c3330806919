// The one entry point the composition root calls: argv (without node and script) → what to do.
// It never throws and never prints: every problem comes back as ONE line for main.ts to print
// before exiting 1, naming the flag (`--proxy-mode: …`) or the config file and field
// (`/var/lib/kube-proxy/config.conf: iptables.masqueradeBit: …`).
import pkg from '../../package.json' with { type: 'json' };
import { describeError, KubeProxyError } from '../errors.ts';
import { decodeConfigText } from '../config/decode.ts';
import { encodeConfig } from '../config/encode.ts';
import { readConfigFile } from '../config/load.ts';
import { resolveConfig, type FlagValues } from '../config/merge.ts';
import type { ProxyConfig } from '../config/types.ts';
import { MODE_CONFIG_DEFAULTS, MODE_GATES, REGISTERED_MODES } from '../backends/modes.ts';
import { validateConfig } from '../config/validate.ts';
import { DEFAULT_MODE_WARNING, deprecatedGateWarnings } from '../config/mode-warnings.ts';
import { helpText, parseFlags, type RawFlags } from './flags.ts';
import { toFlagValues } from './flag-values.ts';

export type ParseOutcome =
  | {
      readonly kind: 'run';
      readonly config: ProxyConfig;
      readonly warnings: readonly string[];
      readonly configFile?: string;
      /** The flags as given on the command line (for /flagz). */
      readonly flags: RawFlags;
    }
  | { readonly kind: 'help' | 'version'; readonly text: string }
  | { readonly kind: 'write-config'; readonly path: string; readonly text: string }
  | { readonly kind: 'error'; readonly message: string };

export interface ParseEnv {
  /** os.hostname(), for the node name when --hostname-override is not given. */
  readonly hostname: string;
  /** Reads the --config file; defaults to the real one (config/load.ts). Throws ConfigError. */
  readonly readFile?: (path: string) => string;
}

/** Which config field each KubeProxyConfiguration flag sets, to name the flag in errors. */
const FLAG_FOR_FIELD: Readonly<Record<string, keyof FlagValues>> = {
  mode: 'proxyMode',
  bindAddress: 'bindAddress',
  healthzBindAddress: 'healthzBindAddress',
  metricsBindAddress: 'metricsBindAddress',
  clusterCIDR: 'clusterCIDRs',
  'iptables.masqueradeBit': 'iptablesMasqueradeBit',
  'iptables.syncPeriod': 'iptablesSyncPeriodMs',
  'iptables.minSyncPeriod': 'iptablesMinSyncPeriodMs',
  'ipvs.syncPeriod': 'ipvsSyncPeriodMs',
  'ipvs.minSyncPeriod': 'ipvsMinSyncPeriodMs',
  'ipvs.scheduler': 'ipvsScheduler',
  'ipvs.tcpTimeout': 'ipvsTcpTimeoutMs',
  'ipvs.tcpFinTimeout': 'ipvsTcpFinTimeoutMs',
  'ipvs.udpTimeout': 'ipvsUdpTimeoutMs',
  'conntrack.maxPerCore': 'conntrackMaxPerCore',
  'conntrack.min': 'conntrackMin',
  'conntrack.tcpEstablishedTimeout': 'conntrackTcpEstablishedTimeoutMs',
  'conntrack.tcpCloseWaitTimeout': 'conntrackTcpCloseWaitTimeoutMs',
  'conntrack.udpTimeout': 'conntrackUdpTimeoutMs',
  'conntrack.udpStreamTimeout': 'conntrackUdpStreamTimeoutMs',
  'clientConnection.burst': 'kubeApiBurst',
  oomScoreAdj: 'oomScoreAdj',
  configSyncPeriod: 'configSyncPeriodMs',
  'detectLocal.bridgeInterface': 'podBridgeInterface',
  'detectLocal.interfaceNamePrefix': 'podInterfaceNamePrefix',
  'logging.verbosity': 'verbosity',
  nodePortAddresses: 'nodePortAddresses',
  'ipvs.excludeCIDRs': 'ipvsExcludeCIDRs',
  featureGates: 'featureGates',
};
const FLAG_NAME: Readonly<Partial<Record<keyof FlagValues, string>>> = {
  proxyMode: '--proxy-mode', bindAddress: '--bind-address', healthzBindAddress: '--healthz-bind-address',
  metricsBindAddress: '--metrics-bind-address', clusterCIDRs: '--cluster-cidr',
  iptablesMasqueradeBit: '--iptables-masquerade-bit', iptablesSyncPeriodMs: '--iptables-sync-period',
  iptablesMinSyncPeriodMs: '--iptables-min-sync-period', ipvsSyncPeriodMs: '--ipvs-sync-period',
  ipvsMinSyncPeriodMs: '--ipvs-min-sync-period', ipvsScheduler: '--ipvs-scheduler', ipvsTcpTimeoutMs: '--ipvs-tcp-timeout',
  ipvsTcpFinTimeoutMs: '--ipvs-tcpfin-timeout', ipvsUdpTimeoutMs: '--ipvs-udp-timeout',
  conntrackMaxPerCore: '--conntrack-max-per-core', conntrackMin: '--conntrack-min',
  conntrackTcpEstablishedTimeoutMs: '--conntrack-tcp-timeout-established',
  conntrackTcpCloseWaitTimeoutMs: '--conntrack-tcp-timeout-close-wait', conntrackUdpTimeoutMs: '--conntrack-udp-timeout',
  conntrackUdpStreamTimeoutMs: '--conntrack-udp-timeout-stream', kubeApiBurst: '--kube-api-burst',
  oomScoreAdj: '--oom-score-adj', configSyncPeriodMs: '--config-sync-period',
  podBridgeInterface: '--pod-bridge-interface', podInterfaceNamePrefix: '--pod-interface-name-prefix', verbosity: '-v',
  kubeconfig: '--kubeconfig', kubeApiQps: '--kube-api-qps', healthzPort: '--healthz-port', metricsPort: '--metrics-port',
  bindAddressHardFail: '--bind-address-hard-fail', profiling: '--profiling', nodePortAddresses: '--nodeport-addresses',
  masqueradeAll: '--masquerade-all', iptablesLocalhostNodePorts: '--iptables-localhost-nodeports',
  ipvsStrictARP: '--ipvs-strict-arp', ipvsExcludeCIDRs: '--ipvs-exclude-cidrs', conntrackTcpBeLiberal: '--conntrack-tcp-be-liberal',
  detectLocalMode: '--detect-local-mode', featureGates: '--feature-gates',
};

/** Flags that a --config file overrides (every KubeProxyConfiguration flag but -v), to warn they had no effect. */
const IGNORED_WITH_CONFIG = new Set<string>(Object.keys(FLAG_NAME).filter((k) => k !== 'verbosity'));

function message(err: unknown): string {
  return KubeProxyError.is(err) ? err.message : describeError(err);
}

export function parseCommandLine(argv: readonly string[], env: ParseEnv): ParseOutcome {
  try {
    const raw = parseFlags(argv);
    if (raw.get('help') === true) return { kind: 'help', text: helpText() };
    if (raw.get('version') === true) return { kind: 'version', text: `kube-proxy-ts v${pkg.version}` };
    const { values, warnings: flagWarnings } = toFlagValues(raw);
    const warnings = [...flagWarnings];
    const configFile = raw.get('config');
    let file: ProxyConfig | undefined;
    if (typeof configFile === 'string' && configFile !== '') {
      const read = env.readFile ?? readConfigFile;
      const text = read(configFile);
      try {
        const decoded = decodeConfigText(text);
        file = decoded.config;
        warnings.push(...decoded.warnings.map((w) => `${configFile}: ${w}`));
      } catch (err) {
        return { kind: 'error', message: `${configFile}: ${message(err)}` };
      }
      const ignored = Object.keys(values).filter((k) => IGNORED_WITH_CONFIG.has(k));
      if (ignored.length > 0) {
        warnings.push(`flags ignored because --config is given (the file wins): ${ignored.map((k) => FLAG_NAME[k as keyof FlagValues] ?? k).join(', ')}`);
      }
    }
    const config = resolveConfig({ ...(file ? { file } : {}), flags: values, hostname: env.hostname, modeDefaults: MODE_CONFIG_DEFAULTS });
    // Without a file, the flag is the only place the mode is set (with one, decode warns).
    if (!file && (values.proxyMode ?? '') === '') warnings.push(DEFAULT_MODE_WARNING);
    warnings.push(...deprecatedGateWarnings(config.featureGates));
    const errors = validateConfig(config, REGISTERED_MODES, MODE_GATES);
    if (errors.length > 0) {
      const lines = errors.map((e) => {
        if (file) return `${String(configFile)}: ${e.message}`;
        const key = FLAG_FOR_FIELD[e.path.replace(/\[\d+\]$/, '')];
        const flag = key !== undefined && key in values ? FLAG_NAME[key] : undefined;
        return flag !== undefined ? `${flag}: ${e.reason}` : e.message;
      });
      return { kind: 'error', message: lines.join('; ') };
    }
    // upstream Options.Validate: --init-only does the set-up and exits, --cleanup undoes it.
    if (config.initOnly === true && (config.cleanup || config.dryRun)) {
      return { kind: 'error', message: `--init-only: cannot be combined with ${config.cleanup ? '--cleanup' : '--dry-run'}` };
    }
    const writeTo = raw.get('write-config-to');
    if (typeof writeTo === 'string' && writeTo !== '') return { kind: 'write-config', path: writeTo, text: encodeConfig(config) };
    return { kind: 'run', config, warnings, flags: raw, ...(file ? { configFile: String(configFile) } : {}) };
  } catch (err) {
    return { kind: 'error', message: message(err) };
  }
}
