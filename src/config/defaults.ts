// The defaults of KubeProxyConfiguration v1alpha1, after upstream's defaulting
// (pkg/proxy/apis/config/v1alpha1/defaults.go SetDefaults_KubeProxyConfiguration) and the Linux
// platform defaults (cmd/kube-proxy/app/server_linux.go platformApplyDefaults: mode → iptables,
// detectLocalMode → ClusterCIDR). Checked against upstream's default roundtrip YAML in the tests.
import type { LogLevel, ProxyConfig } from './types.ts';

/** ports.ProxyHealthzPort and ports.ProxyStatusPort (pkg/cluster/ports/ports.go). */
export const HEALTHZ_PORT = 10256;
export const METRICS_PORT = 10249;

/** qos.KubeProxyOOMScoreAdj (pkg/kubelet/qos/policy.go). */
export const KUBE_PROXY_OOM_SCORE_ADJ = -999;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The healthz and metrics hosts follow the family of bindAddress (getDefaultAddresses). */
export function defaultServerHosts(ipv6: boolean): { healthz: string; metrics: string } {
  return ipv6 ? { healthz: '::', metrics: '::1' } : { healthz: '0.0.0.0', metrics: '127.0.0.1' };
}

/** A fully defaulted config. `nodeName` is '' until `withNodeName` fills it in. */
export function defaultConfig(): ProxyConfig {
  return {
    mode: 'iptables',
    hostnameOverride: '',
    nodeName: '',
    bindAddress: '0.0.0.0',
    healthzBindAddress: { host: '0.0.0.0', port: HEALTHZ_PORT },
    metricsBindAddress: { host: '127.0.0.1', port: METRICS_PORT },
    bindAddressHardFail: false,
    clientConnection: { kubeconfig: '', master: '', qps: 5, burst: 10 },
    configSyncPeriodMs: 15 * MINUTE,
    clusterCIDRs: [],
    detectLocalMode: 'ClusterCIDR',
    detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
    nodePortAddresses: [],
    oomScoreAdj: KUBE_PROXY_OOM_SCORE_ADJ,
    featureGates: {},
    iptables: {
      masqueradeBit: 14,
      masqueradeAll: false,
      localhostNodePorts: true,
      syncPeriodMs: 30 * SECOND,
      minSyncPeriodMs: 1 * SECOND,
      backend: 'auto',
    },
    ipvs: {
      syncPeriodMs: 30 * SECOND,
      // Not defaulted upstream: 0 means "sync on every change".
      minSyncPeriodMs: 0,
      // '' means the kernel's round robin (rr), chosen at run time as upstream does.
      scheduler: '',
      excludeCIDRs: [],
      strictARP: false,
      // 0 means "leave the kernel's value".
      tcpTimeoutMs: 0,
      tcpFinTimeoutMs: 0,
      udpTimeoutMs: 0,
    },
    nftables: { masqueradeBit: 14, masqueradeAll: false, syncPeriodMs: 30 * SECOND, minSyncPeriodMs: 1 * SECOND },
    conntrack: {
      maxPerCore: 32 * 1024,
      min: 128 * 1024,
      tcpEstablishedTimeoutMs: 24 * HOUR,
      // One hour to match typical server FIN_WAIT timeouts (kubernetes/kubernetes#32551).
      tcpCloseWaitTimeoutMs: 1 * HOUR,
      tcpBeLiberal: false,
      // 0 means "leave the sysctl alone".
      udpTimeoutMs: 0,
      udpStreamTimeoutMs: 0,
    },
    // component-base SetRecommendedLoggingConfiguration: text format, verbosity 0.
    logging: { format: 'text', verbosity: 0 },
    enableProfiling: false,
    manifestsDir: '',
    dryRun: false,
    cleanup: false,
  };
}

/**
 * The node name as upstream derives it (nodeutil.GetHostname): the override, else the host's
 * name, trimmed and lower-cased. Returns null when that leaves nothing.
 */
export function nodeNameFor(hostnameOverride: string, hostname: string): string | null {
  const name = (hostnameOverride.trim() !== '' ? hostnameOverride : hostname).trim().toLowerCase();
  return name === '' ? null : name;
}

/** klog's `-v` mapped onto pino levels (0–1 info, 2–4 debug, 5+ trace), unless a level is set. */
export function effectiveLogLevel(logging: ProxyConfig['logging']): LogLevel {
  if (logging.level !== undefined) return logging.level;
  if (logging.verbosity >= 5) return 'trace';
  if (logging.verbosity >= 2) return 'debug';
  return 'info';
}
