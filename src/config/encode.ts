// ProxyConfig → KubeProxyConfiguration v1alpha1 YAML, for `--write-config-to`. Every field is
// written, keys sorted and durations in Go's canonical form, as upstream's encoder writes them
// (compare pkg/proxy/apis/config/scheme/testdata/KubeProxyConfiguration/roundtrip/default/v1alpha1.yaml).
// Fields with no meaning here (winkernel, portRange) carry upstream's defaults so the file loads
// unchanged into upstream kube-proxy too. Our own settings (--manifests, --dry-run,
// --iptables-backend) are flags only and are not written.
import { stringify } from 'yaml';
import { API_VERSION, KIND } from './decode.ts';
import { formatGoDuration as d } from './duration.ts';
import { formatHostPort } from './net.ts';
import type { ProxyConfig } from './types.ts';

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** Lists encode as null when empty, as Go's encoder writes a nil slice. */
function list(values: readonly string[]): Json {
  return values.length === 0 ? null : [...values];
}

function sortKeys(value: Json): Json {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  const obj = value as { readonly [key: string]: Json };
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, sortKeys(obj[k] ?? null)]));
}

/** The v1alpha1 object for a config (before YAML). */
export function toV1Alpha1(c: ProxyConfig): Json {
  return sortKeys({
    apiVersion: API_VERSION,
    kind: KIND,
    bindAddress: c.bindAddress,
    bindAddressHardFail: c.bindAddressHardFail,
    clientConnection: {
      acceptContentTypes: '',
      burst: c.clientConnection.burst,
      contentType: 'application/vnd.kubernetes.protobuf',
      kubeconfig: c.clientConnection.kubeconfig,
      qps: c.clientConnection.qps,
    },
    clusterCIDR: c.clusterCIDRs.join(','),
    configSyncPeriod: d(c.configSyncPeriodMs),
    conntrack: {
      maxPerCore: c.conntrack.maxPerCore,
      min: c.conntrack.min,
      tcpBeLiberal: c.conntrack.tcpBeLiberal,
      tcpCloseWaitTimeout: d(c.conntrack.tcpCloseWaitTimeoutMs),
      tcpEstablishedTimeout: d(c.conntrack.tcpEstablishedTimeoutMs),
      udpStreamTimeout: d(c.conntrack.udpStreamTimeoutMs),
      udpTimeout: d(c.conntrack.udpTimeoutMs),
    },
    detectLocal: { bridgeInterface: c.detectLocal.bridgeInterface, interfaceNamePrefix: c.detectLocal.interfaceNamePrefix },
    detectLocalMode: c.detectLocalMode,
    enableProfiling: c.enableProfiling ?? false,
    // omitempty upstream.
    ...(Object.keys(c.featureGates).length > 0 ? { featureGates: { ...c.featureGates } } : {}),
    // A disabled server has no v1alpha1 spelling ('' is defaulted back); write the default.
    healthzBindAddress: c.healthzBindAddress === null ? '' : formatHostPort(c.healthzBindAddress),
    hostnameOverride: c.hostnameOverride,
    iptables: {
      localhostNodePorts: c.iptables.localhostNodePorts,
      masqueradeAll: c.iptables.masqueradeAll,
      masqueradeBit: c.iptables.masqueradeBit,
      minSyncPeriod: d(c.iptables.minSyncPeriodMs),
      syncPeriod: d(c.iptables.syncPeriodMs),
    },
    ipvs: {
      excludeCIDRs: list(c.ipvs.excludeCIDRs),
      minSyncPeriod: d(c.ipvs.minSyncPeriodMs),
      scheduler: c.ipvs.scheduler,
      strictARP: c.ipvs.strictARP,
      syncPeriod: d(c.ipvs.syncPeriodMs),
      tcpFinTimeout: d(c.ipvs.tcpFinTimeoutMs),
      tcpTimeout: d(c.ipvs.tcpTimeoutMs),
      udpTimeout: d(c.ipvs.udpTimeoutMs),
    },
    logging: {
      flushFrequency: '5s',
      format: c.logging.format,
      options: { json: { infoBufferSize: '0' }, text: { infoBufferSize: '0' } },
      verbosity: c.logging.verbosity,
    },
    metricsBindAddress: c.metricsBindAddress === null ? '' : formatHostPort(c.metricsBindAddress),
    mode: c.mode,
    nftables: {
      masqueradeAll: c.nftables.masqueradeAll,
      masqueradeBit: c.nftables.masqueradeBit,
      minSyncPeriod: d(c.nftables.minSyncPeriodMs),
      syncPeriod: d(c.nftables.syncPeriodMs),
    },
    nodePortAddresses: list(c.nodePortAddresses),
    oomScoreAdj: c.oomScoreAdj,
    portRange: '',
    showHiddenMetricsForVersion: '',
    winkernel: { enableDSR: false, forwardHealthCheckVip: false, networkName: '', rootHnsEndpointName: '', sourceVip: '' },
  });
}

/** The YAML text `--write-config-to` writes. YAML 1.1 quoting, so `decodeConfigText` reads it back. */
export function encodeConfig(c: ProxyConfig): string {
  return stringify(toV1Alpha1(c), { version: '1.1', lineWidth: 0 });
}
