import { DEFAULT_MODE_WARNING } from '../config/mode-warnings.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../errors.ts';
import { decodeConfigText } from '../config/decode.ts';
import { defaultConfig } from '../config/defaults.ts';
import { parseCommandLine, type ParseOutcome } from './parse.ts';

const kubeadm = (parse(readFileSync(new URL('../config/testdata/kubeadm-configmap.yaml', import.meta.url), 'utf8')) as { data: Record<string, string> }).data['config.conf'] ?? '';
const head = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

function files(map: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = map[path];
    if (text === undefined) throw new ConfigError(path, 'cannot read file (ENOENT)', { code: 'KP_ERR_CONFIG_READ' });
    return text;
  };
}
const run = (argv: string[], fs: Record<string, string> = {}): ParseOutcome => parseCommandLine(argv, { hostname: 'Host-1', readFile: files(fs) });
const ok = (argv: string[], fs: Record<string, string> = {}) => {
  const r = run(argv, fs);
  if (r.kind !== 'run') throw new Error(`expected run, got ${JSON.stringify(r)}`);
  return r;
};

describe('parseCommandLine', () => {
  it('with no flags runs with the defaults and the hostname as node name', () => {
    expect(ok([])).toEqual({ kind: 'run', config: { ...defaultConfig(), nodeName: 'host-1' }, warnings: [DEFAULT_MODE_WARNING], flags: new Map() });
  });

  it("runs kubeadm's DaemonSet command line against its ConfigMap", () => {
    const r = ok(['--config=/var/lib/kube-proxy/config.conf', '--hostname-override=Worker-1'], { '/var/lib/kube-proxy/config.conf': kubeadm });
    expect(r.configFile).toBe('/var/lib/kube-proxy/config.conf');
    expect(r.warnings).toEqual([`/var/lib/kube-proxy/config.conf: ${DEFAULT_MODE_WARNING}`]);
    expect(r.config.nodeName).toBe('worker-1');
    expect(r.config.clusterCIDRs).toEqual(['10.244.0.0/16']);
    expect(r.config.clientConnection.kubeconfig).toBe('/var/lib/kube-proxy/kubeconfig.conf');
  });

  it('maps every KubeProxyConfiguration flag onto the config', () => {
    const r = ok([
      '--proxy-mode=ipvs', '--kubeconfig=/k', '--master=https://192.0.2.1:6443', '--bind-address=192.0.2.5',
      '--cluster-cidr=10.244.0.0/16,fd00:10:244::/56', '--nodeport-addresses=192.0.2.0/24', '--masquerade-all',
      '--iptables-masquerade-bit=13', '--iptables-sync-period=10s', '--iptables-min-sync-period=2s',
      '--iptables-localhost-nodeports=false', '--ipvs-scheduler=wlc', '--ipvs-strict-arp', '--ipvs-sync-period=1m',
      '--ipvs-min-sync-period=1s', '--ipvs-exclude-cidrs=10.9.0.0/16', '--ipvs-tcp-timeout=15m', '--ipvs-tcpfin-timeout=1m',
      '--ipvs-udp-timeout=30s', '--conntrack-max-per-core=0', '--conntrack-min=10', '--conntrack-tcp-timeout-established=2h',
      '--conntrack-tcp-timeout-close-wait=30m', '--conntrack-tcp-be-liberal', '--conntrack-udp-timeout=5s',
      '--conntrack-udp-timeout-stream=1m', '--healthz-bind-address=0.0.0.0:12345', '--metrics-bind-address=0.0.0.0',
      '--bind-address-hard-fail', '--detect-local-mode=InterfaceNamePrefix', '--pod-interface-name-prefix=veth',
      '--pod-bridge-interface=cbr0', '--oom-score-adj=-500', '--config-sync-period=5m', '--kube-api-qps=20',
      '--kube-api-burst=40', '--feature-gates=PreferSameTrafficDistribution=true,WatchListClient=false', '--feature-gates=ContextualLogging=true', '-v=3', '--logging-format=json',
      '--manifests=/m', '--dry-run', '--iptables-backend=legacy', '--cleanup',
    ]);
    const d = defaultConfig();
    expect(r.config).toEqual({
      ...d,
      mode: 'ipvs',
      nodeName: 'host-1',
      bindAddress: '192.0.2.5',
      healthzBindAddress: { host: '0.0.0.0', port: 12345 },
      metricsBindAddress: { host: '0.0.0.0', port: 10249 },
      bindAddressHardFail: true,
      clientConnection: { kubeconfig: '/k', master: 'https://192.0.2.1:6443', qps: 20, burst: 40 },
      configSyncPeriodMs: 300_000,
      clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
      detectLocalMode: 'InterfaceNamePrefix',
      detectLocal: { bridgeInterface: 'cbr0', interfaceNamePrefix: 'veth' },
      nodePortAddresses: ['192.0.2.0/24'],
      oomScoreAdj: -500,
      featureGates: { PreferSameTrafficDistribution: true, WatchListClient: false, ContextualLogging: true },
      iptables: { masqueradeBit: 13, masqueradeAll: true, localhostNodePorts: false, syncPeriodMs: 10_000, minSyncPeriodMs: 2_000, backend: 'legacy' },
      ipvs: { syncPeriodMs: 60_000, minSyncPeriodMs: 1_000, scheduler: 'wlc', excludeCIDRs: ['10.9.0.0/16'], strictARP: true, tcpTimeoutMs: 900_000, tcpFinTimeoutMs: 60_000, udpTimeoutMs: 30_000 },
      nftables: { ...d.nftables, masqueradeAll: true },
      conntrack: { maxPerCore: 0, min: 10, tcpEstablishedTimeoutMs: 7_200_000, tcpCloseWaitTimeoutMs: 1_800_000, tcpBeLiberal: true, udpTimeoutMs: 5_000, udpStreamTimeoutMs: 60_000 },
      logging: { format: 'json', verbosity: 3 },
      manifestsDir: '/m',
      dryRun: true,
      cleanup: true,
    });
  });

  it.each<[string[], string]>([
    [['--proxy-mode=foo'], '--proxy-mode: must be one of iptables, ipvs, userspace, nftables, got "foo"'],
    [['--iptables-masquerade-bit=40'], '--iptables-masquerade-bit: must be within [0,31], got 40'],
    [['--iptables-masquerade-bit=x'], '--iptables-masquerade-bit: must be a whole number, got "x"'],
    [['--iptables-sync-period=10'], '--iptables-sync-period: missing unit in duration "10" (want a Go duration such as 30s, 1m30s, 300ms)'],
    [['--iptables-sync-period=0s'], '--iptables-sync-period: must be greater than 0, got 0s; --iptables-sync-period: must be greater than or equal to iptables.minSyncPeriod (1s), got 0s'],
    [['--iptables-min-sync-period=1m'], 'iptables.syncPeriod: must be greater than or equal to iptables.minSyncPeriod (1m0s), got 30s'],
    [['--oom-score-adj=-1001'], '--oom-score-adj: must be within [-1000,1000], got -1001'],
    [['--bind-address=node'], '--bind-address: must be a valid IP address, got "node"'],
    [['--healthz-bind-address=localhost:1'], '--healthz-bind-address: must be IP:port with a valid IP, got host "localhost"'],
    [['--metrics-bind-address=1.2.3.4:x'], '--metrics-bind-address: must be IP:port (or an IP), got "1.2.3.4:x"'],
    [['--cluster-cidr=10.0.0.0/33'], '--cluster-cidr: must be a valid CIDR (e.g. 10.100.0.0/16), got "10.0.0.0/33"'],
    [['--nodeport-addresses=foo'], '--nodeport-addresses: must be a valid CIDR or "primary", got "foo"'],
    [['--proxy-mode=ipvs', '--ipvs-exclude-cidrs=10.0.0.0/8,x'], '--ipvs-exclude-cidrs: must be a valid CIDR, got "x"'],
    [['--proxy-mode=ipvs', '--ipvs-scheduler=fast'], '--ipvs-scheduler: must be one of rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh, fo, ovf, twos or empty (rr), got "fast"'],
    [['--detect-local-mode=Magic'], '--detect-local-mode: must be one of ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix, got "Magic"'],
    [['--detect-local-mode=BridgeInterface'], 'detectLocal.bridgeInterface: must not be empty when detectLocalMode is BridgeInterface'],
    [['--feature-gates=A'], '--feature-gates: want Name=true|false pairs, got "A"'],
    [['--feature-gates=NoSuchGate=true'], '--feature-gates: unrecognized feature gate: NoSuchGate'],
    [['--feature-gates=TopologyAwareHints=false'], '--feature-gates: cannot set feature gate TopologyAwareHints to false, feature is locked to true'],
    [['--logging-format=xml'], '--logging-format: must be one of text, json, got "xml"'],
    [['--log-level=loud'], '--log-level: must be one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    [['--iptables-backend=xt'], '--iptables-backend: must be one of auto, legacy, nft, got "xt"'],
    [['-v=-1'], '-v: must be within [0,2147483647], got -1'],
    [['--kube-api-qps=fast'], '--kube-api-qps: must be a number, got "fast"'],
    [['--hostname-override=  '], '--hostname-override: must not be blank'],
    [['--bogus'], '--bogus: unknown flag'],
    [['--config=/nope'], '/nope: cannot read file (ENOENT)'],
    [['--iptables-masquerade-bit=40', '--oom-score-adj=5000'], '--iptables-masquerade-bit: must be within [0,31], got 40; --oom-score-adj: must be within [-1000,1000], got 5000'],
  ])('%j → one line', (argv, message) => {
    expect(run(argv)).toEqual({ kind: 'error', message });
  });

  it.each<[string, string]>([
    [`${head}iptables: {masqueradeBit: 40}`, '/c.yaml: iptables.masqueradeBit: must be within [0,31], got 40'],
    [`${head}mode: nftables\nnftables: {masqueradeBit: 40}`, '/c.yaml: nftables.masqueradeBit: must be within [0,31], got 40'],
    [`${head}mode: foo`, '/c.yaml: mode: must be one of iptables, ipvs, userspace, nftables, got "foo"'],
    ['apiVersion: v1\nkind: ConfigMap', '/c.yaml: apiVersion: must be kubeproxy.config.k8s.io/v1alpha1, got "v1"'],
    [`${head}featureGates: {NoSuchGate: true}`, '/c.yaml: featureGates: unrecognized feature gate: NoSuchGate'],
  ])('a bad config file names the file and field: %j', (text, message) => {
    expect(run(['--config=/c.yaml'], { '/c.yaml': text })).toEqual({ kind: 'error', message });
  });

  it('with --config, config flags are ignored with a warning; logging and hostname flags win', () => {
    const r = ok(['--config=/c.yaml', '--proxy-mode=ipvs', '--masquerade-all', '-v=6', '--hostname-override=n2', '--master=https://192.0.2.9'], {
      '/c.yaml': `${head}mode: iptables\nlogging: {verbosity: 1}\nfoo: bar\n`,
    });
    expect(r.config.mode).toBe('iptables');
    expect(r.config.iptables.masqueradeAll).toBe(false);
    expect(r.config.logging.verbosity).toBe(6);
    expect(r.config.nodeName).toBe('n2');
    expect(r.config.clientConnection.master).toBe('https://192.0.2.9');
    expect(r.warnings).toEqual([
      '/c.yaml: unknown field "foo" ignored',
      'flags ignored because --config is given (the file wins): --proxy-mode, --masquerade-all',
    ]);
  });

  it('warns about accepted-but-ignored flags', () => {
    expect(ok(['--kube-api-content-type=application/json', '--profiling']).warnings).toEqual([
      '--kube-api-content-type is ignored: the API client speaks JSON',
      '--profiling is accepted but has no effect: there is no pprof handler',
      DEFAULT_MODE_WARNING,
    ]);
  });

  it('--log-level overrides -v', () => {
    expect(ok(['-v=5', '--log-level=warn']).config.logging).toEqual({ format: 'text', verbosity: 5, level: 'warn' });
  });

  it('empty bind addresses disable the servers; --healthz-port=0 too', () => {
    const r = ok(['--metrics-bind-address=', '--healthz-port=0']);
    expect([r.config.healthzBindAddress, r.config.metricsBindAddress]).toEqual([null, null]);
  });

  it('help and version', () => {
    const help = run(['--help']);
    expect(help.kind).toBe('help');
    expect(help.kind === 'help' && help.text).toContain('--iptables-masquerade-bit');
    expect(run(['--version'])).toEqual({ kind: 'version', text: expect.stringMatching(/^kube-proxy-ts v\d+\.\d+\.\d+/) as unknown as string });
  });

  it('--write-config-to returns the effective config as v1alpha1 YAML', () => {
    const r = run(['--write-config-to=/tmp/out.yaml', '--proxy-mode=ipvs', '--iptables-sync-period=45s']);
    expect(r.kind).toBe('write-config');
    if (r.kind !== 'write-config') return;
    expect(r.path).toBe('/tmp/out.yaml');
    expect(r.text).toContain('  syncPeriod: 45s\n');
    expect(decodeConfigText(r.text).config.mode).toBe('ipvs');
  });

  it('--write-config-to refuses an invalid config as upstream does (validate before run)', () => {
    expect(run(['--write-config-to=/o', '--oom-score-adj=5000']).kind).toBe('error');
  });
});

describe('parseCommandLine with the real file reader (config/load.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file from disk', () => {
    const path = join(dir, 'config.conf');
    writeFileSync(path, kubeadm);
    const r = parseCommandLine([`--config=${path}`], { hostname: 'h' });
    expect(r.kind === 'run' && r.config.clusterCIDRs).toEqual(['10.244.0.0/16']);
  });

  it('a missing file is one line with the path', () => {
    expect(parseCommandLine([`--config=${join(dir, 'missing')}`], { hostname: 'h' })).toEqual({
      kind: 'error',
      message: `${join(dir, 'missing')}: cannot read file (ENOENT)`,
    });
  });

  it('v1.37 mode warnings and the KubeProxyIPVS gate', () => {
    // An explicit mode, by flag or file, gives no default-mode warning.
    expect(ok(['--proxy-mode=iptables']).warnings).toEqual([]);
    expect(ok(['--config=/c.yaml'], { '/c.yaml': `${head}mode: ipvs\n` }).warnings).toEqual([]);
    // The gate is known, deprecated (a warning when set), default on.
    expect(ok(['--proxy-mode=ipvs', '--feature-gates=KubeProxyIPVS=true']).warnings).toEqual([
      'Setting deprecated feature gate KubeProxyIPVS=true. It will be removed in a future release.',
    ]);
    expect(ok(['--proxy-mode=iptables', '--feature-gates=KubeProxyIPVS=false']).config.mode).toBe('iptables');
    // Off, the ipvs mode is refused, naming the gate.
    expect(parseCommandLine(['--proxy-mode=ipvs', '--feature-gates=KubeProxyIPVS=false'], { hostname: 'h' })).toEqual({
      kind: 'error',
      message: '--proxy-mode: "ipvs" is disabled by the KubeProxyIPVS feature gate (valid modes: iptables, userspace, nftables)',
    });
    expect(parseCommandLine(['--config=/c.yaml'], { hostname: 'h', readFile: () => `${head}mode: ipvs\nfeatureGates: {KubeProxyIPVS: false}\n` })).toMatchObject({
      kind: 'error',
      message: '/c.yaml: mode: "ipvs" is disabled by the KubeProxyIPVS feature gate (valid modes: iptables, userspace, nftables)',
    });
  });
});
