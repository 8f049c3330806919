import { DEFAULT_MODE_WARNING } from './mode-warnings.ts';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../errors.ts';
import { decodeConfigObject, decodeConfigText } from './decode.ts';
import { defaultConfig } from './defaults.ts';
import { REGISTERED_MODES } from '../backends/modes.ts';
import { validateConfig } from './validate.ts';

const fixture = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const head = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

describe('decodeConfigText', () => {
  it("decodes upstream's default v1alpha1 YAML to our defaults, warning only that mode is left to default (v1.37)", () => {
    const { config, warnings } = decodeConfigText(fixture('upstream-default-v1alpha1.yaml'));
    expect(config).toEqual(defaultConfig());
    expect(warnings).toEqual([DEFAULT_MODE_WARNING]);
  });

  it("loads kubeadm's ConfigMap config.conf unchanged: zero values defaulted as upstream does", () => {
    const cm = parse(fixture('kubeadm-configmap.yaml')) as { data: Record<string, string> };
    const text = cm.data['config.conf'] ?? '';
    const { config, warnings } = decodeConfigText(text);
    // kubeadm before v1.37 writes mode: "" (kubernetes#139777 makes it explicit).
    expect(warnings).toEqual([DEFAULT_MODE_WARNING]);
    expect(config).toEqual({
      ...defaultConfig(),
      clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf', master: '', qps: 5, burst: 10 },
      clusterCIDRs: ['10.244.0.0/16'],
    });
    expect(validateConfig(config, REGISTERED_MODES)).toEqual([]);
  });

  it('reads JSON as well', () => {
    const json = JSON.stringify({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'ipvs', ipvs: { scheduler: 'lc' } });
    const { config } = decodeConfigText(json);
    expect(config.mode).toBe('ipvs');
    expect(config.ipvs.scheduler).toBe('lc');
  });

  it('decodes a config that sets everything', () => {
    const { config, warnings } = decodeConfigText(
      head +
        [
          'mode: ipvs',
          'hostnameOverride: Node-A',
          'bindAddress: "::"',
          'healthzBindAddress: ""',
          'metricsBindAddress: "::1"',
          'clusterCIDR: 10.244.0.0/16,fd00:10:244::/56',
          'nodePortAddresses: [primary]',
          'featureGates: {Foo: true, Bar: false}',
          'oomScoreAdj: -500',
          'configSyncPeriod: 1m',
          'iptables: {masqueradeBit: 15, masqueradeAll: true, localhostNodePorts: false, syncPeriod: 10s, minSyncPeriod: 0s}',
          'ipvs: {syncPeriod: 1m, minSyncPeriod: 5s, scheduler: wrr, excludeCIDRs: [192.0.2.0/24], strictARP: true, tcpTimeout: 900s, tcpFinTimeout: 2m, udpTimeout: 300ms}',
          'conntrack: {maxPerCore: 0, min: 1, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 30m, tcpBeLiberal: true, udpTimeout: 30s, udpStreamTimeout: 2m}',
          'detectLocalMode: BridgeInterface',
          'detectLocal: {bridgeInterface: cbr0}',
          'logging: {format: json, verbosity: 4, flushFrequency: 5s}',
        ].join('\n'),
    );
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      mode: 'ipvs',
      hostnameOverride: 'Node-A',
      nodeName: 'node-a',
      bindAddress: '::',
      healthzBindAddress: { host: '::', port: 10256 },
      metricsBindAddress: { host: '::1', port: 10249 },
      clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
      nodePortAddresses: ['primary'],
      featureGates: { Foo: true, Bar: false },
      oomScoreAdj: -500,
      configSyncPeriodMs: 60_000,
      iptables: { masqueradeBit: 15, masqueradeAll: true, localhostNodePorts: false, syncPeriodMs: 10_000, minSyncPeriodMs: 1_000 },
      ipvs: { syncPeriodMs: 60_000, minSyncPeriodMs: 5_000, scheduler: 'wrr', excludeCIDRs: ['192.0.2.0/24'], strictARP: true, tcpTimeoutMs: 900_000, tcpFinTimeoutMs: 120_000, udpTimeoutMs: 300 },
      // An explicit 0s on a pointer field means "leave as-is" and is kept; maxPerCore 0 likewise.
      conntrack: { maxPerCore: 0, min: 1, tcpEstablishedTimeoutMs: 0, tcpCloseWaitTimeoutMs: 1_800_000, tcpBeLiberal: true, udpTimeoutMs: 30_000, udpStreamTimeoutMs: 120_000 },
      detectLocalMode: 'BridgeInterface',
      detectLocal: { bridgeInterface: 'cbr0', interfaceNamePrefix: '' },
      logging: { format: 'json', verbosity: 4 },
    });
  });

  it('turns unknown fields into warnings naming their path, not errors', () => {
    const { config, warnings } = decodeConfigText(`${head}mode: ipvs\nfutureField: 1\niptables:\n  newKnob: true\nlogging:\n  verbosity: 2\n  options: {text: {splitStream: true}}\n`);
    expect(config.mode).toBe('ipvs');
    expect(warnings).toEqual(['unknown field "futureField" ignored', 'unknown field "iptables.newKnob" ignored']);
  });

  it('warns about fields it accepts but does not implement', () => {
    const { warnings } = decodeConfigText(`${head}portRange: 30000-32767\niptables: {snatNodeInternalIP: true}\n`);
    expect(warnings).toEqual([
      'iptables.snatNodeInternalIP is not supported and is ignored',
      'portRange "30000-32767" is not supported and is ignored',
      DEFAULT_MODE_WARNING,
    ]);
  });

  it.each([
    ['not: [yaml', /^config: not valid YAML or JSON/],
    ['- a\n- b', /^config: must be a KubeProxyConfiguration object/],
    ['kind: KubeProxyConfiguration', /^apiVersion: must be kubeproxy.config.k8s.io\/v1alpha1, got nothing/],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration', /^apiVersion: .* got "kubeproxy.config.k8s.io\/v1alpha2"/],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration', /^kind: must be KubeProxyConfiguration, got "KubeletConfiguration"/],
    [`${head}mode: foo`, /^mode: must be one of iptables, ipvs, userspace, nftables, got "foo"/],
    [`${head}mode: 3`, /^mode: must be a string, got number 3/],
    [`${head}detectLocalMode: Foo`, /^detectLocalMode: must be one of ClusterCIDR/],
    [`${head}logging: {format: xml}`, /^logging.format: must be one of text, json, got "xml"/],
    [`${head}iptables: {syncPeriod: 30}`, /^iptables.syncPeriod: must be a string, got number 30/],
    [`${head}iptables: {syncPeriod: 30x}`, /^iptables.syncPeriod: unknown unit "x"/],
    [`${head}iptables: {masqueradeBit: 1.5}`, /^iptables.masqueradeBit: must be a 32-bit integer, got 1.5/],
    [`${head}iptables: {masqueradeBit: "14"}`, /^iptables.masqueradeBit: must be a number, got "14"/],
    [`${head}iptables: true`, /^iptables: must be an object, got boolean true/],
    [`${head}ipvs: {strictARP: "yes please"}`, /^ipvs.strictARP: must be true or false/],
    [`${head}ipvs: {excludeCIDRs: [10.0.0.0/8, 5]}`, /^ipvs.excludeCIDRs\[1\]: must be a string, got number 5/],
    [`${head}nodePortAddresses: 10.0.0.0/8`, /^nodePortAddresses: must be a list of strings/],
    [`${head}featureGates: {Foo: maybe}`, /^featureGates.Foo: must be true or false, got "maybe"/],
    [`${head}healthzBindAddress: "0.0.0.0:http"`, /^healthzBindAddress: must be IP:port, got "0.0.0.0:http"/],
    [`${head}oomScoreAdj: 99999999999`, /^oomScoreAdj: must be a 32-bit integer/],
    [`${head}logging: {flushFrequency: soon}`, /^logging.flushFrequency: invalid duration "soon"/],
  ])('rejects %j', (text, message) => {
    expect(() => decodeConfigText(text)).toThrow(ConfigError);
    expect(() => decodeConfigText(text)).toThrow(message);
  });

  it('reads YAML 1.1 booleans as upstream (go-yaml v2) does', () => {
    expect(decodeConfigText(`${head}ipvs: {strictARP: yes}`).config.ipvs.strictARP).toBe(true);
  });

  it('treats null like an absent field', () => {
    const { config } = decodeConfigObject({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', iptables: null, mode: null });
    expect(config).toEqual(defaultConfig());
  });
});
