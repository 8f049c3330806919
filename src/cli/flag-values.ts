// Raw flag strings → typed FlagValues, with pflag's value rules (Int32Var, Float32Var, DurationVar,
// StringSliceVar, MapStringBool) and one ConfigError per bad value naming the flag.
import { ConfigError } from '../errors.ts';
import { DETECT_LOCAL_MODES, LOG_FORMATS, PROXY_MODES } from '../config/decode.ts';
import { HEALTHZ_PORT, METRICS_PORT } from '../config/defaults.ts';
import { parseGoDuration } from '../config/duration.ts';
import type { FlagValues } from '../config/merge.ts';
import { appendPortIfNeeded, parseHostPort } from '../config/net.ts';
import type { HostPort, IptablesBackend, LogLevel } from '../config/types.ts';
import { REGISTERED_MODES } from '../backends/modes.ts';
import { parseGoBool, type RawFlags } from './flags.ts';

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const BACKENDS: readonly IptablesBackend[] = ['auto', 'legacy', 'nft'];

const bad = (flag: string, reason: string): ConfigError =>
  new ConfigError(flag.length === 1 ? `-${flag}` : `--${flag}`, reason, { code: 'KP_ERR_FLAG_INVALID' });

export interface FlagParse {
  readonly values: FlagValues;
  readonly warnings: readonly string[];
}

/** Convert the given flags; throws ConfigError (KP_ERR_FLAG_INVALID) on the first bad value. */
export function toFlagValues(raw: RawFlags): FlagParse {
  const warnings: string[] = [];
  const str = (name: string): string | undefined => {
    const v = raw.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const bool = (name: string): boolean | undefined => {
    const v = raw.get(name);
    return typeof v === 'boolean' ? v : undefined;
  };
  const list = (name: string): string[] | undefined => {
    const v = raw.get(name);
    if (!Array.isArray(v)) return undefined;
    // pflag StringSlice: each occurrence is comma-separated; an empty value is an empty list.
    return (v as readonly string[]).flatMap((s) => (s === '' ? [] : s.split(',')));
  };
  const int = (name: string, min = -(2 ** 31), max = 2 ** 31 - 1): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(v.trim())) throw bad(name, `must be a whole number, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw bad(name, `must be within [${min},${max}], got ${n}`);
    return n;
  };
  const float = (name: string): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw bad(name, `must be a number, got "${v}"`);
    return n;
  };
  const duration = (name: string): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    try {
      return parseGoDuration(v, `--${name}`);
    } catch (err) {
      if (err instanceof ConfigError) throw bad(name, err.reason);
      throw err;
    }
  };
  /** A string enum; '' means the default, as upstream's platform defaults treat it. */
  const oneOf = <T extends string>(name: string, allowed: readonly T[], listed: readonly string[] = allowed): T | undefined => {
    const v = str(name);
    if (v === undefined || v === '') return undefined;
    const found = allowed.find((a) => a === v);
    if (found === undefined) throw bad(name, `must be one of ${listed.join(', ')}, got "${v}"`);
    return found;
  };
  const server = (name: string, port: number): HostPort | null | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    if (v === '') return null;
    const hp = parseHostPort(appendPortIfNeeded(v, port));
    if (hp === null) throw bad(name, `must be IP:port (or an IP), got "${v}"`);
    return hp;
  };
  const featureGates = (): Record<string, boolean> | undefined => {
    const pairs = list('feature-gates');
    if (pairs === undefined) return undefined;
    const gates: Record<string, boolean> = {};
    for (const pair of pairs) {
      const [k = '', v, ...extra] = pair.split('=');
      const b = v === undefined || extra.length > 0 ? null : parseGoBool(v.trim());
      if (k.trim() === '' || b === null) throw bad('feature-gates', `want Name=true|false pairs, got "${pair}"`);
      gates[k.trim()] = b;
    }
    return gates;
  };

  if (raw.has('kube-api-content-type')) warnings.push('--kube-api-content-type is ignored: the API client speaks JSON');
  if (bool('profiling') === true) warnings.push('--profiling is accepted but has no effect: there is no pprof handler');
  const verbosity = int('v', 0);
  const logFormat = oneOf('log-format', LOG_FORMATS) ?? oneOf('logging-format', LOG_FORMATS);
  const modeText = str('proxy-mode');
  // '' is upstream's "best available", which is iptables.
  const proxyMode = modeText === '' ? 'iptables' : oneOf('proxy-mode', PROXY_MODES, REGISTERED_MODES);
  const clusterCIDR = str('cluster-cidr');

  const values: FlagValues = {
    proxyMode,
    kubeconfig: str('kubeconfig'),
    kubeApiQps: float('kube-api-qps'),
    kubeApiBurst: int('kube-api-burst'),
    bindAddress: str('bind-address'),
    healthzBindAddress: server('healthz-bind-address', HEALTHZ_PORT),
    metricsBindAddress: server('metrics-bind-address', METRICS_PORT),
    healthzPort: int('healthz-port', 0, 65535),
    metricsPort: int('metrics-port', 0, 65535),
    bindAddressHardFail: bool('bind-address-hard-fail'),
    profiling: bool('profiling'),
    clusterCIDRs: clusterCIDR === undefined ? undefined : clusterCIDR === '' ? [] : clusterCIDR.split(','),
    nodePortAddresses: list('nodeport-addresses'),
    masqueradeAll: bool('masquerade-all'),
    iptablesMasqueradeBit: int('iptables-masquerade-bit'),
    iptablesSyncPeriodMs: duration('iptables-sync-period'),
    iptablesMinSyncPeriodMs: duration('iptables-min-sync-period'),
    iptablesLocalhostNodePorts: bool('iptables-localhost-nodeports'),
    ipvsScheduler: str('ipvs-scheduler'),
    ipvsStrictARP: bool('ipvs-strict-arp'),
    ipvsSyncPeriodMs: duration('ipvs-sync-period'),
    ipvsMinSyncPeriodMs: duration('ipvs-min-sync-period'),
    ipvsExcludeCIDRs: list('ipvs-exclude-cidrs'),
    ipvsTcpTimeoutMs: duration('ipvs-tcp-timeout'),
    ipvsTcpFinTimeoutMs: duration('ipvs-tcpfin-timeout'),
    ipvsUdpTimeoutMs: duration('ipvs-udp-timeout'),
    conntrackMaxPerCore: int('conntrack-max-per-core'),
    conntrackMin: int('conntrack-min'),
    conntrackTcpEstablishedTimeoutMs: duration('conntrack-tcp-timeout-established'),
    conntrackTcpCloseWaitTimeoutMs: duration('conntrack-tcp-timeout-close-wait'),
    conntrackTcpBeLiberal: bool('conntrack-tcp-be-liberal'),
    conntrackUdpTimeoutMs: duration('conntrack-udp-timeout'),
    conntrackUdpStreamTimeoutMs: duration('conntrack-udp-timeout-stream'),
    detectLocalMode: oneOf('detect-local-mode', DETECT_LOCAL_MODES),
    podBridgeInterface: str('pod-bridge-interface'),
    podInterfaceNamePrefix: str('pod-interface-name-prefix'),
    oomScoreAdj: int('oom-score-adj'),
    configSyncPeriodMs: duration('config-sync-period'),
    featureGates: featureGates(),
    verbosity,
    logFormat,
    logLevel: oneOf('log-level', LOG_LEVELS),
    hostnameOverride: str('hostname-override'),
    master: str('master'),
    cleanup: bool('cleanup'),
    initOnly: bool('init-only'),
    manifestsDir: str('manifests'),
    dryRun: bool('dry-run'),
    iptablesBackend: oneOf('iptables-backend', BACKENDS),
  };
  // Drop the flags that were not given, so "present" always means "set on the command line".
  const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as FlagValues;
  return { values: given, warnings };
}
