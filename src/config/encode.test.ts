import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decodeConfigText } from './decode.ts';
import { defaultConfig } from './defaults.ts';
import { encodeConfig } from './encode.ts';
import type { ProxyConfig } from './types.ts';

const upstream = readFileSync(new URL('./testdata/upstream-default-v1alpha1.yaml', import.meta.url), 'utf8');

describe('encodeConfig', () => {
  it('round-trips the defaults: encode(defaults) decodes back to the same config', () => {
    const { config, warnings } = decodeConfigText(encodeConfig(defaultConfig()));
    expect(warnings).toEqual([]);
    expect(config).toEqual(defaultConfig());
  });

  it("writes the defaults as upstream does, field for field (mode/detectLocalMode resolved)", () => {
    const ours = parse(encodeConfig(defaultConfig())) as Record<string, unknown>;
    const theirs = parse(upstream) as Record<string, unknown>;
    // Upstream writes mode and detectLocalMode blank and lets platformApplyDefaults resolve them;
    // we write what blank resolves to. Our logging options also list the text stream.
    expect(ours).toEqual({
      ...theirs,
      mode: 'iptables',
      detectLocalMode: 'ClusterCIDR',
      logging: { ...(theirs['logging'] as object), options: { json: { infoBufferSize: '0' }, text: { infoBufferSize: '0' } } },
    });
  });

  it('writes keys sorted and durations in Go form', () => {
    const text = encodeConfig(defaultConfig());
    expect(text).toMatch(/^apiVersion: kubeproxy.config.k8s.io\/v1alpha1\nbindAddress: 0.0.0.0\n/);
    expect(text).toContain('configSyncPeriod: 15m0s\n');
    expect(text).toContain('  tcpEstablishedTimeout: 24h0m0s\n');
    expect(text).toContain('  tcpCloseWaitTimeout: 1h0m0s\n');
    expect(text).toContain('nodePortAddresses: null\n');
  });

  it('round-trips a config that changes every v1alpha1 field', () => {
    const d = defaultConfig();
    const c: ProxyConfig = {
      ...d,
      mode: 'ipvs',
      hostnameOverride: 'yes',
      nodeName: 'yes',
      bindAddress: '::',
      healthzBindAddress: { host: '::', port: 1 },
      metricsBindAddress: { host: '::1', port: 2 },
      bindAddressHardFail: true,
      enableProfiling: true,
      clientConnection: { kubeconfig: '/k', master: '', qps: 7.5, burst: 20 },
      configSyncPeriodMs: 90_500,
      clusterCIDRs: ['10.244.0.0/16', 'fd00::/56'],
      detectLocalMode: 'InterfaceNamePrefix',
      detectLocal: { bridgeInterface: 'br0', interfaceNamePrefix: 'veth' },
      nodePortAddresses: ['192.0.2.0/24'],
      oomScoreAdj: 0,
      featureGates: { A: true },
      iptables: { ...d.iptables, masqueradeBit: 0, masqueradeAll: true, localhostNodePorts: false, syncPeriodMs: 5_000, minSyncPeriodMs: 300 },
      ipvs: { syncPeriodMs: 7_000, minSyncPeriodMs: 2, scheduler: 'sh', excludeCIDRs: ['10.1.0.0/16'], strictARP: true, tcpTimeoutMs: 1, tcpFinTimeoutMs: 2, udpTimeoutMs: 3 },
      nftables: { masqueradeBit: 3, masqueradeAll: true, syncPeriodMs: 4_000, minSyncPeriodMs: 500 },
      conntrack: { maxPerCore: 0, min: 5, tcpEstablishedTimeoutMs: 0, tcpCloseWaitTimeoutMs: 7, tcpBeLiberal: true, udpTimeoutMs: 8, udpStreamTimeoutMs: 9 },
      logging: { format: 'json', verbosity: 3 },
    };
    expect(decodeConfigText(encodeConfig(c)).config).toEqual(c);
  });
});
