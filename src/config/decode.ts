// KubeProxyConfiguration v1alpha1 (YAML or JSON text, or an already-parsed object) → ProxyConfig.
// Zero values are defaulted exactly as upstream's SetDefaults_KubeProxyConfiguration does
// (pkg/proxy/apis/config/v1alpha1/defaults.go), because kubeadm writes every field with its zero
// value (`syncPeriod: 0s`, `masqueradeBit: null`, `healthzBindAddress: ""`) and relies on that.
import { DEFAULT_MODE_WARNING } from './mode-warnings.ts';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.ts';
import { defaultConfig, defaultServerHosts, HEALTHZ_PORT, METRICS_PORT } from './defaults.ts';
import { parseGoDurationNs } from './duration.ts';
import { Fields, isObject } from './fields.ts';
import { appendPortIfNeeded, ipFamily, parseHostPort } from './net.ts';
import type { DetectLocalMode, HostPort, LogFormat, ProxyConfig } from './types.ts';
import type { ProxyMode } from '../model/types.ts';

export const API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const KIND = 'KubeProxyConfiguration';

export interface DecodeResult {
  readonly config: ProxyConfig;
  /** Unknown or ignored fields, one sentence each, for the caller to log. */
  readonly warnings: readonly string[];
}

/** The modes the config and `--proxy-mode` accept; nftables is refused later, by validation. */
export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'ipvs', 'userspace', 'nftables'];
export const DETECT_LOCAL_MODES: readonly DetectLocalMode[] = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

const TOP = [
  'apiVersion', 'kind', 'featureGates', 'clientConnection', 'logging', 'hostnameOverride', 'bindAddress',
  'healthzBindAddress', 'metricsBindAddress', 'bindAddressHardFail', 'enableProfiling',
  'showHiddenMetricsForVersion', 'mode', 'iptables', 'ipvs', 'nftables', 'winkernel', 'detectLocalMode',
  'detectLocal', 'clusterCIDR', 'nodePortAddresses', 'oomScoreAdj', 'conntrack', 'configSyncPeriod', 'portRange',
  'windowsRunAsService',
] as const;
const CLIENT = ['kubeconfig', 'acceptContentTypes', 'contentType', 'qps', 'burst'];
const LOGGING = ['format', 'flushFrequency', 'verbosity', 'vmodule', 'options'];
const IPTABLES = ['masqueradeBit', 'masqueradeAll', 'localhostNodePorts', 'syncPeriod', 'minSyncPeriod', 'snatNodeInternalIP'];
const IPVS = ['syncPeriod', 'minSyncPeriod', 'scheduler', 'excludeCIDRs', 'strictARP', 'tcpTimeout', 'tcpFinTimeout', 'udpTimeout'];
const NFTABLES = ['masqueradeBit', 'masqueradeAll', 'syncPeriod', 'minSyncPeriod'];
const WINKERNEL = ['networkName', 'sourceVip', 'enableDSR', 'rootHnsEndpointName', 'forwardHealthCheckVip'];
const DETECT_LOCAL = ['bridgeInterface', 'interfaceNamePrefix'];
const CONNTRACK = ['maxPerCore', 'min', 'tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'tcpBeLiberal', 'udpTimeout', 'udpStreamTimeout'];

/** Parse YAML or JSON text (JSON is YAML) and decode it. Throws ConfigError. */
export function decodeConfigText(text: string): DecodeResult {
  let raw: unknown;
  try {
    // YAML 1.1, as sigs.k8s.io/yaml (go-yaml v2) reads the file upstream.
    raw = parseYaml(text, { version: '1.1', prettyErrors: true });
  } catch (err) {
    // The yaml package's first line ends with "at line N, column M:" before a code excerpt.
    const reason = (err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)).replace(/:\s*$/, '');
    throw new ConfigError('config', `not valid YAML or JSON: ${reason}`, { cause: err });
  }
  return decodeConfigObject(raw);
}

/** Decode a parsed KubeProxyConfiguration object. Throws ConfigError naming the field. */
export function decodeConfigObject(raw: unknown): DecodeResult {
  if (!isObject(raw)) throw new ConfigError('config', 'must be a KubeProxyConfiguration object');
  const warnings: string[] = [];
  const top = new Fields(raw, '', TOP, warnings);
  const apiVersion = top.string('apiVersion');
  const kind = top.string('kind');
  if (apiVersion !== API_VERSION) {
    throw new ConfigError('apiVersion', `must be ${API_VERSION}, got ${apiVersion === undefined ? 'nothing' : `"${apiVersion}"`}`);
  }
  if (kind !== KIND) throw new ConfigError('kind', `must be ${KIND}, got ${kind === undefined ? 'nothing' : `"${kind}"`}`);

  const d = defaultConfig();
  const or = <T>(v: T | undefined, fallback: T): T => (v === undefined ? fallback : v);
  // metav1.Duration and numeric fields: upstream defaults the zero value, not only an absent one.
  const nz = (v: number | undefined, fallback: number): number => (v === undefined || v === 0 ? fallback : v);

  const bindAddress = or(top.string('bindAddress'), '') || d.bindAddress;
  const hosts = defaultServerHosts(ipFamily(bindAddress) === 'IPv6');

  const client = top.object('clientConnection', CLIENT);
  // The API client speaks JSON only; upstream's own default (protobuf) is in every written config,
  // so the content types are read and ignored without a warning.
  client.string('contentType');
  client.string('acceptContentTypes');

  const logging = top.object('logging', LOGGING);
  decodeFlushFrequency(logging);
  logging.raw('vmodule');
  logging.raw('options');

  const ipt = top.object('iptables', IPTABLES);
  if (ipt.boolean('snatNodeInternalIP') === true) warnings.push('iptables.snatNodeInternalIP is not supported and is ignored');
  const ipvs = top.object('ipvs', IPVS);
  const nft = top.object('nftables', NFTABLES);
  const ct = top.object('conntrack', CONNTRACK);
  const dl = top.object('detectLocal', DETECT_LOCAL);
  const win = top.object('winkernel', WINKERNEL);
  for (const key of ['networkName', 'sourceVip', 'rootHnsEndpointName']) win.string(key);
  for (const key of ['enableDSR', 'forwardHealthCheckVip']) win.boolean(key);
  top.boolean('windowsRunAsService');
  for (const key of ['portRange', 'showHiddenMetricsForVersion'] as const) {
    const v = top.string(key);
    if (v !== undefined && v !== '') warnings.push(`${key} "${v}" is not supported and is ignored`);
  }

  // v1.37 warns when the mode is left to its default (kubernetes#139957).
  if ((top.string('mode') ?? '') === '') warnings.push(DEFAULT_MODE_WARNING);
  const clusterCIDR = top.string('clusterCIDR') ?? '';
  const hostnameOverride = top.string('hostnameOverride') ?? '';

  const config: ProxyConfig = {
    ...d,
    mode: oneOf(top, 'mode', PROXY_MODES, d.mode),
    hostnameOverride,
    nodeName: hostnameOverride.trim().toLowerCase(),
    bindAddress,
    healthzBindAddress: serverAddress(top, 'healthzBindAddress', hosts.healthz, HEALTHZ_PORT),
    metricsBindAddress: serverAddress(top, 'metricsBindAddress', hosts.metrics, METRICS_PORT),
    bindAddressHardFail: or(top.boolean('bindAddressHardFail'), false),
    enableProfiling: or(top.boolean('enableProfiling'), false),
    clientConnection: {
      kubeconfig: or(client.string('kubeconfig'), ''),
      master: '',
      qps: nz(client.number('qps'), d.clientConnection.qps),
      burst: nz(client.int32('burst'), d.clientConnection.burst),
    },
    configSyncPeriodMs: nz(top.duration('configSyncPeriod'), d.configSyncPeriodMs),
    clusterCIDRs: clusterCIDR === '' ? [] : clusterCIDR.split(','),
    detectLocalMode: oneOf(top, 'detectLocalMode', DETECT_LOCAL_MODES, d.detectLocalMode),
    detectLocal: {
      bridgeInterface: or(dl.string('bridgeInterface'), ''),
      interfaceNamePrefix: or(dl.string('interfaceNamePrefix'), ''),
    },
    nodePortAddresses: or(top.stringList('nodePortAddresses'), []),
    oomScoreAdj: or(top.int32('oomScoreAdj'), d.oomScoreAdj),
    featureGates: or(top.boolMap('featureGates'), {}),
    iptables: {
      masqueradeBit: or(ipt.int32('masqueradeBit'), d.iptables.masqueradeBit),
      masqueradeAll: or(ipt.boolean('masqueradeAll'), false),
      localhostNodePorts: or(ipt.boolean('localhostNodePorts'), d.iptables.localhostNodePorts),
      syncPeriodMs: nz(ipt.duration('syncPeriod'), d.iptables.syncPeriodMs),
      minSyncPeriodMs: nz(ipt.duration('minSyncPeriod'), d.iptables.minSyncPeriodMs),
      backend: d.iptables.backend,
    },
    ipvs: {
      syncPeriodMs: nz(ipvs.duration('syncPeriod'), d.ipvs.syncPeriodMs),
      minSyncPeriodMs: or(ipvs.duration('minSyncPeriod'), 0),
      scheduler: or(ipvs.string('scheduler'), ''),
      excludeCIDRs: or(ipvs.stringList('excludeCIDRs'), []),
      strictARP: or(ipvs.boolean('strictARP'), false),
      tcpTimeoutMs: or(ipvs.duration('tcpTimeout'), 0),
      tcpFinTimeoutMs: or(ipvs.duration('tcpFinTimeout'), 0),
      udpTimeoutMs: or(ipvs.duration('udpTimeout'), 0),
    },
    nftables: {
      masqueradeBit: or(nft.int32('masqueradeBit'), d.nftables.masqueradeBit),
      masqueradeAll: or(nft.boolean('masqueradeAll'), false),
      syncPeriodMs: nz(nft.duration('syncPeriod'), d.nftables.syncPeriodMs),
      minSyncPeriodMs: nz(nft.duration('minSyncPeriod'), d.nftables.minSyncPeriodMs),
    },
    conntrack: {
      maxPerCore: or(ct.int32('maxPerCore'), d.conntrack.maxPerCore),
      min: or(ct.int32('min'), d.conntrack.min),
      // Pointers upstream: only null/absent is defaulted, an explicit 0s means "leave as-is".
      tcpEstablishedTimeoutMs: or(ct.duration('tcpEstablishedTimeout'), d.conntrack.tcpEstablishedTimeoutMs),
      tcpCloseWaitTimeoutMs: or(ct.duration('tcpCloseWaitTimeout'), d.conntrack.tcpCloseWaitTimeoutMs),
      tcpBeLiberal: or(ct.boolean('tcpBeLiberal'), false),
      udpTimeoutMs: or(ct.duration('udpTimeout'), 0),
      udpStreamTimeoutMs: or(ct.duration('udpStreamTimeout'), 0),
    },
    logging: {
      format: oneOf(logging, 'format', LOG_FORMATS, d.logging.format),
      verbosity: or(logging.int32('verbosity'), 0),
    },
  };
  return { config, warnings };
}

/** A string enum; '' and absent mean the default, as upstream's platform defaults treat them. */
function oneOf<T extends string>(f: Fields, key: string, allowed: readonly T[], fallback: T): T {
  const v = f.string(key);
  if (v === undefined || v === '') return fallback;
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new ConfigError(f.path(key), `must be one of ${allowed.join(', ')}, got "${v}"`);
  return found;
}

/** healthz/metrics address: '' takes the default, a bare IP gets the default port. */
function serverAddress(f: Fields, key: string, defaultHost: string, port: number): HostPort {
  const v = f.string(key) ?? '';
  if (v === '') return { host: defaultHost, port };
  const hp = parseHostPort(appendPortIfNeeded(v, port));
  if (hp === null) throw new ConfigError(f.path(key), `must be IP:port, got "${v}"`);
  return hp;
}

/** component-base accepts a number of nanoseconds or a duration string; we only check it. */
function decodeFlushFrequency(logging: Fields): void {
  const v = logging.raw('flushFrequency');
  if (v === undefined || typeof v === 'number') return;
  const ns = typeof v === 'string' ? parseGoDurationNs(v) : 'must be a duration';
  if (typeof ns === 'string') throw new ConfigError(logging.path('flushFrequency'), ns);
}
