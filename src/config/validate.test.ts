import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { defaultConfig } from './defaults.ts';
import type { ProxyConfig } from './types.ts';
import { REGISTERED_MODES } from '../backends/modes.ts';
import { validateConfig } from './validate.ts';

type Patch = (c: ProxyConfig) => ProxyConfig;
const base = defaultConfig();
const ipvs = (p: Partial<ProxyConfig['ipvs']>): Patch => (c) => ({ ...c, mode: 'ipvs', ipvs: { ...c.ipvs, ...p } });
const ipt = (p: Partial<ProxyConfig['iptables']>): Patch => (c) => ({ ...c, iptables: { ...c.iptables, ...p } });
const ct = (p: Partial<ProxyConfig['conntrack']>): Patch => (c) => ({ ...c, conntrack: { ...c.conntrack, ...p } });
const set = (p: Partial<ProxyConfig>): Patch => (c) => ({ ...c, ...p });

describe('validateConfig', () => {
  it('accepts the defaults', () => {
    expect(validateConfig(base, REGISTERED_MODES)).toEqual([]);
  });

  // One row per upstream rule (pkg/proxy/apis/config/validation/validation.go) plus ours.
  it.each<[string, Patch, string]>([
    ['unknown mode', set({ mode: 'kernelspace' as ProxyConfig['mode'] }), 'mode: must be one of iptables, ipvs, userspace, got "kernelspace"'],
    ['nftables mode', set({ mode: 'nftables' }), 'mode: "nftables" is not implemented yet (use iptables or ipvs)'],
    ['masquerade bit too high', ipt({ masqueradeBit: 40 }), 'iptables.masqueradeBit: must be within [0,31], got 40'],
    ['masquerade bit negative', ipt({ masqueradeBit: -1 }), 'iptables.masqueradeBit: must be within [0,31], got -1'],
    ['iptables sync period 0', ipt({ syncPeriodMs: 0, minSyncPeriodMs: 0 }), 'iptables.syncPeriod: must be greater than 0, got 0s'],
    ['iptables min sync negative', ipt({ minSyncPeriodMs: -1000 }), 'iptables.minSyncPeriod: must be greater than or equal to 0, got -1s'],
    ['iptables min > sync', ipt({ syncPeriodMs: 1000, minSyncPeriodMs: 2000 }), 'iptables.syncPeriod: must be greater than or equal to iptables.minSyncPeriod (2s), got 1s'],
    ['iptables backend', ipt({ backend: 'xt' as ProxyConfig['iptables']['backend'] }), '--iptables-backend: must be one of auto, legacy, nft, got "xt"'],
    ['ipvs sync period 0', ipvs({ syncPeriodMs: 0 }), 'ipvs.syncPeriod: must be greater than 0, got 0s'],
    ['ipvs min sync negative', ipvs({ minSyncPeriodMs: -1 }), 'ipvs.minSyncPeriod: must be greater than or equal to 0, got -1ms'],
    ['ipvs min > sync', ipvs({ syncPeriodMs: 1000, minSyncPeriodMs: 5000 }), 'ipvs.syncPeriod: must be greater than or equal to ipvs.minSyncPeriod (5s), got 1s'],
    ['ipvs tcp timeout', ipvs({ tcpTimeoutMs: -1000 }), 'ipvs.tcpTimeout: must be greater than or equal to 0, got -1s'],
    ['ipvs tcpfin timeout', ipvs({ tcpFinTimeoutMs: -1000 }), 'ipvs.tcpFinTimeout: must be greater than or equal to 0, got -1s'],
    ['ipvs udp timeout', ipvs({ udpTimeoutMs: -1000 }), 'ipvs.udpTimeout: must be greater than or equal to 0, got -1s'],
    ['ipvs scheduler', ipvs({ scheduler: 'roundrobin' }), 'ipvs.scheduler: must be one of rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh, fo, ovf, twos or empty (rr), got "roundrobin"'],
    ['ipvs exclude CIDR', ipvs({ excludeCIDRs: ['10.0.0.0/8', '10.0.0.0'] }), 'ipvs.excludeCIDRs[1]: must be a valid CIDR, got "10.0.0.0"'],
    ['nftables masquerade bit', (c) => ({ ...c, mode: 'nftables', nftables: { ...c.nftables, masqueradeBit: 32 } }), 'nftables.masqueradeBit: must be within [0,31], got 32'],
    ['conntrack maxPerCore', ct({ maxPerCore: -1 }), 'conntrack.maxPerCore: must be greater than or equal to 0, got -1'],
    ['conntrack min', ct({ min: -1 }), 'conntrack.min: must be greater than or equal to 0, got -1'],
    ['conntrack established', ct({ tcpEstablishedTimeoutMs: -1000 }), 'conntrack.tcpEstablishedTimeout: must be greater than or equal to 0, got -1s'],
    ['conntrack close wait', ct({ tcpCloseWaitTimeoutMs: -1000 }), 'conntrack.tcpCloseWaitTimeout: must be greater than or equal to 0, got -1s'],
    ['conntrack udp', ct({ udpTimeoutMs: -1000 }), 'conntrack.udpTimeout: must be greater than or equal to 0, got -1s'],
    ['conntrack udp stream', ct({ udpStreamTimeoutMs: -1000 }), 'conntrack.udpStreamTimeout: must be greater than or equal to 0, got -1s'],
    ['burst', (c) => ({ ...c, clientConnection: { ...c.clientConnection, burst: -1 } }), 'clientConnection.burst: must be greater than or equal to 0, got -1'],
    ['oom score adj', set({ oomScoreAdj: -1001 }), 'oomScoreAdj: must be within [-1000,1000], got -1001'],
    ['config sync period', set({ configSyncPeriodMs: 0 }), 'configSyncPeriod: must be greater than 0, got 0s'],
    ['bind address', set({ bindAddress: 'node1' }), 'bindAddress: must be a valid IP address, got "node1"'],
    ['healthz host', set({ healthzBindAddress: { host: 'localhost', port: 10256 } }), 'healthzBindAddress: must be IP:port with a valid IP, got host "localhost"'],
    ['metrics port 0', set({ metricsBindAddress: { host: '127.0.0.1', port: 0 } }), 'metricsBindAddress: must have a port within [1,65535], got 0'],
    ['metrics port high', set({ metricsBindAddress: { host: '127.0.0.1', port: 70000 } }), 'metricsBindAddress: must have a port within [1,65535], got 70000'],
    ['cluster CIDR bad', set({ clusterCIDRs: ['10.244.0.0/33'] }), 'clusterCIDR: must be a valid CIDR (e.g. 10.100.0.0/16), got "10.244.0.0/33"'],
    ['cluster CIDR same family', set({ clusterCIDRs: ['10.0.0.0/8', '11.0.0.0/8'] }), 'clusterCIDR: must be a valid dual-stack pair, one IPv4 and one IPv6 (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48), got "10.0.0.0/8,11.0.0.0/8"'],
    ['cluster CIDR three', set({ clusterCIDRs: ['10.0.0.0/8', 'fd00::/8', '11.0.0.0/8'] }), 'clusterCIDR: only one CIDR or a dual-stack pair is allowed (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48), got "10.0.0.0/8,fd00::/8,11.0.0.0/8"'],
    ['node port address', set({ nodePortAddresses: ['10.0.0.0/8', '1.2.3'] }), 'nodePortAddresses[1]: must be a valid CIDR or "primary", got "1.2.3"'],
    ['primary with CIDRs', set({ nodePortAddresses: ['primary', '10.0.0.0/8'] }), 'nodePortAddresses[0]: "primary" cannot be combined with CIDRs'],
    ['bridge interface', set({ detectLocalMode: 'BridgeInterface' }), 'detectLocal.bridgeInterface: must not be empty when detectLocalMode is BridgeInterface'],
    ['interface prefix', set({ detectLocalMode: 'InterfaceNamePrefix' }), 'detectLocal.interfaceNamePrefix: must not be empty when detectLocalMode is InterfaceNamePrefix'],
    ['verbosity', set({ logging: { format: 'text', verbosity: -1 } }), 'logging.verbosity: must be a whole number >= 0, got -1'],
    ['log level', set({ logging: { format: 'text', verbosity: 0, level: 'loud' as 'info' } }), '--log-level: must be one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
  ])('%s', (_name, patch, message) => {
    // nftables rows also carry the mode's own "not implemented" error; check the rest exactly.
    const errs = validateConfig(patch(base), REGISTERED_MODES).filter((e) => e.path !== 'mode' || message.startsWith('mode:'));
    expect(errs.map((e) => e.message)).toEqual([message]);
    expect(errs[0]).toBeInstanceOf(ConfigError);
    expect(errs[0]?.code).toBe('KP_ERR_CONFIG_INVALID');
  });

  it.each<[string, Patch]>([
    ['dual-stack cluster CIDR', set({ clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'] })],
    ['primary node port addresses', set({ nodePortAddresses: ['primary'] })],
    ['disabled servers', set({ healthzBindAddress: null, metricsBindAddress: null })],
    ['IPv6 servers', set({ healthzBindAddress: { host: '::', port: 10256 }, metricsBindAddress: { host: '::1', port: 10249 } })],
    ['ipvs sections ignored outside ipvs mode', (c) => ({ ...c, ipvs: { ...c.ipvs, syncPeriodMs: 0, scheduler: 'bogus' } })],
    ['ipvs with a known scheduler', ipvs({ scheduler: 'mh', excludeCIDRs: ['192.0.2.0/24'] })],
    ['userspace mode', set({ mode: 'userspace' })],
    ['min sync equal to sync', ipt({ syncPeriodMs: 1000, minSyncPeriodMs: 1000 })],
  ])('accepts %s', (_name, patch) => {
    expect(validateConfig(patch(base), REGISTERED_MODES)).toEqual([]);
  });

  it('reports every problem at once', () => {
    const errs = validateConfig({ ...base, oomScoreAdj: 2000, iptables: { ...base.iptables, masqueradeBit: 99 } }, REGISTERED_MODES);
    expect(errs.map((e) => e.path)).toEqual(['iptables.masqueradeBit', 'oomScoreAdj']);
  });
});
