import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../config/defaults.ts';
import { KubeProxyError } from '../errors.ts';
import { chainsByMode, MODE_CONFIG_DEFAULTS, MODE_GATES, MODES, modeEntry, REGISTERED_MODES } from './modes.ts';

describe('the mode registry', () => {
  it('has one entry per mode name, and --proxy-mode accepts exactly those', () => {
    expect(new Set(MODES.map((m) => m.name)).size).toBe(MODES.length);
    expect(REGISTERED_MODES).toEqual(MODES.map((m) => m.name));
    for (const m of MODES) expect(modeEntry(m.name)).toBe(m);
  });

  it('refuses a mode upstream has but this build does not register', () => {
    const missing = (['iptables', 'ipvs', 'userspace', 'nftables'] as const).filter((m) => !REGISTERED_MODES.includes(m));
    for (const name of missing) {
      expect(() => modeEntry(name)).toThrow(KubeProxyError);
      expect(() => modeEntry(name)).toThrow(/not implemented here/);
    }
  });

  it.each([
    ['iptables', 'iptables'],
    ['ipvs', 'ipvs'],
    ['userspace', 'iptables'],
    ['nftables', 'nftables'],
  ] as const)('%s mode syncs with the periods of its config section (%s)', (mode, section) => {
    const c = defaultConfig();
    const config = { ...c, iptables: { ...c.iptables, syncPeriodMs: 11_000, minSyncPeriodMs: 1_100 }, ipvs: { ...c.ipvs, syncPeriodMs: 22_000, minSyncPeriodMs: 2_200 }, nftables: { ...c.nftables, syncPeriodMs: 33_000, minSyncPeriodMs: 3_300 } };
    expect(modeEntry(mode).syncPeriods(config)).toEqual({ syncPeriodMs: config[section].syncPeriodMs, minSyncPeriodMs: config[section].minSyncPeriodMs });
  });

  it('knows every iptables-writing mode\'s chains, for recognising leftovers', () => {
    expect([...chainsByMode().keys()].sort()).toEqual(['iptables', 'ipvs', 'userspace']);
  });

  it('carries what differs per mode as data: nftables NodePorts on the primary IPs, the ipvs gate and deprecation', () => {
    expect(MODE_CONFIG_DEFAULTS.get('nftables')).toEqual({ nodePortAddresses: ['primary'] });
    expect(MODE_GATES.get('ipvs')).toEqual({ name: 'KubeProxyIPVS', default: true });
    expect(MODES.filter((m) => m.featureGate !== undefined).map((m) => m.name)).toEqual(['ipvs']);
    expect(MODES.filter((m) => m.deprecation !== undefined).map((m) => m.name)).toEqual(['ipvs']);
    expect(MODES.filter((m) => m.configDefaults !== undefined).map((m) => m.name)).toEqual(['nftables']);
  });
});
