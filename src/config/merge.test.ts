import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { defaultConfig, effectiveLogLevel } from './defaults.ts';
import { resolveConfig, type FlagValues } from './merge.ts';
import type { ProxyConfig } from './types.ts';

const file: ProxyConfig = { ...defaultConfig(), mode: 'ipvs', hostnameOverride: 'from-file', logging: { format: 'json', verbosity: 1 } };

describe('resolveConfig precedence', () => {
  it('without --config, flags apply over the defaults', () => {
    const c = resolveConfig({ flags: { proxyMode: 'ipvs', iptablesSyncPeriodMs: 5_000, clusterCIDRs: ['10.0.0.0/8'] }, hostname: 'Host1' });
    expect(c.mode).toBe('ipvs');
    expect(c.iptables.syncPeriodMs).toBe(5_000);
    expect(c.clusterCIDRs).toEqual(['10.0.0.0/8']);
    expect(c.nodeName).toBe('host1');
  });

  // Every row: a flag given together with --config, and whether it beats the file.
  it.each<[string, FlagValues, (c: ProxyConfig) => unknown, unknown]>([
    ['--proxy-mode is ignored', { proxyMode: 'iptables' }, (c) => c.mode, 'ipvs'],
    ['--iptables-sync-period is ignored', { iptablesSyncPeriodMs: 1 }, (c) => c.iptables.syncPeriodMs, 30_000],
    ['--cluster-cidr is ignored', { clusterCIDRs: ['10.0.0.0/8'] }, (c) => c.clusterCIDRs, []],
    ['--kubeconfig is ignored', { kubeconfig: '/flag' }, (c) => c.clientConnection.kubeconfig, ''],
    ['--feature-gates is ignored', { featureGates: { A: true } }, (c) => c.featureGates, {}],
    ['--healthz-port is ignored', { healthzPort: 0 }, (c) => c.healthzBindAddress, { host: '0.0.0.0', port: 10256 }],
    ['-v wins', { verbosity: 5 }, (c) => c.logging, { format: 'json', verbosity: 5 }],
    ['--logging-format wins', { logFormat: 'text' }, (c) => c.logging, { format: 'text', verbosity: 1 }],
    ['--log-level wins', { logLevel: 'warn' }, (c) => c.logging.level, 'warn'],
    ['--hostname-override wins, lower-cased and trimmed', { hostnameOverride: ' Node-7 ' }, (c) => [c.hostnameOverride, c.nodeName], ['node-7', 'node-7']],
    ['an empty --hostname-override does not count', { hostnameOverride: '' }, (c) => c.nodeName, 'from-file'],
    ['--master applies (it is outside the config)', { master: 'https://192.0.2.1:6443' }, (c) => c.clientConnection.master, 'https://192.0.2.1:6443'],
    ['--cleanup applies', { cleanup: true }, (c) => c.cleanup, true],
    ['--manifests applies', { manifestsDir: '/m' }, (c) => c.manifestsDir, '/m'],
    ['--dry-run applies', { dryRun: true }, (c) => c.dryRun, true],
    ['--iptables-backend applies', { iptablesBackend: 'legacy' }, (c) => c.iptables.backend, 'legacy'],
  ])('with --config: %s', (_name, flags, pick, want) => {
    expect(pick(resolveConfig({ file, flags, hostname: 'host' }))).toEqual(want);
  });

  it('the node name falls back to the lower-cased hostname', () => {
    expect(resolveConfig({ flags: {}, hostname: 'My-Host' }).nodeName).toBe('my-host');
  });

  it.each<[FlagValues, string, string]>([
    [{ hostnameOverride: '   ' }, 'h', '--hostname-override: must not be blank'],
    [{}, '', 'hostnameOverride: no node name: the hostname is empty and no override is set'],
  ])('rejects %j with hostname %j', (flags, hostname, message) => {
    expect(() => resolveConfig({ flags, hostname })).toThrow(ConfigError);
    expect(() => resolveConfig({ flags, hostname })).toThrow(message);
  });

  it.each<[FlagValues, ProxyConfig['healthzBindAddress']]>([
    [{ healthzPort: 0 }, null],
    [{ healthzPort: 12345 }, { host: '0.0.0.0', port: 12345 }],
    [{ healthzBindAddress: null }, null],
    [{ healthzBindAddress: { host: '::', port: 1 }, healthzPort: 2 }, { host: '::', port: 2 }],
  ])('deprecated --healthz-port folds into the address: %j', (flags, want) => {
    expect(resolveConfig({ flags, hostname: 'h' }).healthzBindAddress).toEqual(want);
  });

  it('--masquerade-all sets both iptables and nftables masquerading', () => {
    const c = resolveConfig({ flags: { masqueradeAll: true }, hostname: 'h' });
    expect([c.iptables.masqueradeAll, c.nftables.masqueradeAll]).toEqual([true, true]);
  });
});

describe('effectiveLogLevel', () => {
  it.each<[number, string | undefined, string]>([
    [0, undefined, 'info'],
    [1, undefined, 'info'],
    [2, undefined, 'debug'],
    [4, undefined, 'debug'],
    [5, undefined, 'trace'],
    [9, 'error', 'error'],
  ])('-v=%d --log-level=%s → %s', (verbosity, level, want) => {
    const logging = level === undefined ? { format: 'text' as const, verbosity } : { format: 'text' as const, verbosity, level: level as 'error' };
    expect(effectiveLogLevel(logging)).toBe(want);
  });
});

describe('nftables defaults (upstream platformApplyDefaults)', () => {
  it('serves NodePorts on the primary node IPs unless nodePortAddresses is set, in nftables mode only', () => {
    const modeDefaults = new Map([['nftables', { nodePortAddresses: ['primary'] }], ['iptables', undefined]]);
    expect(resolveConfig({ flags: { proxyMode: 'nftables' }, hostname: 'h', modeDefaults }).nodePortAddresses).toEqual(['primary']);
    expect(resolveConfig({ flags: { proxyMode: 'nftables', nodePortAddresses: ['10.0.0.0/8'] }, hostname: 'h', modeDefaults }).nodePortAddresses).toEqual(['10.0.0.0/8']);
    expect(resolveConfig({ flags: { proxyMode: 'iptables' }, hostname: 'h', modeDefaults }).nodePortAddresses).toEqual([]);
  });
});
