import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { FLAGS } from './flag-table.ts';
import { helpText, normalizeArgv, parseFlags } from './flags.ts';

const flags = (argv: string[]): Record<string, unknown> => Object.fromEntries(parseFlags(argv));

describe('parseFlags', () => {
  it.each<[string[], Record<string, unknown>]>([
    [[], {}],
    [['--proxy-mode=ipvs'], { 'proxy-mode': 'ipvs' }],
    [['--proxy-mode', 'ipvs'], { 'proxy-mode': 'ipvs' }],
    [['--proxy-mode='], { 'proxy-mode': '' }],
    [['--masquerade-all'], { 'masquerade-all': true }],
    [['--masquerade-all=true'], { 'masquerade-all': true }],
    [['--masquerade-all=false'], { 'masquerade-all': false }],
    [['--masquerade-all=F', '--ipvs-strict-arp=1'], { 'masquerade-all': false, 'ipvs-strict-arp': true }],
    [['--iptables-localhost-nodeports=false'], { 'iptables-localhost-nodeports': false }],
    [['-v=4'], { v: '4' }],
    [['-v', '4'], { v: '4' }],
    [['-v4'], { v: '4' }],
    [['--v=4'], { v: '4' }],
    [['--oom-score-adj', '-999'], { 'oom-score-adj': '-999' }],
    [['--oom-score-adj=-999'], { 'oom-score-adj': '-999' }],
    [['--proxy-mode=ipvs', '--proxy-mode=iptables'], { 'proxy-mode': 'iptables' }],
    [['--nodeport-addresses=10.0.0.0/8,192.0.2.0/24', '--nodeport-addresses', 'fd00::/8'], { 'nodeport-addresses': ['10.0.0.0/8,192.0.2.0/24', 'fd00::/8'] }],
    [['--feature-gates=A=true,B=false'], { 'feature-gates': ['A=true,B=false'] }],
    [['--hostname-override=$(NODE_NAME)'], { 'hostname-override': '$(NODE_NAME)' }],
    [['--config=/var/lib/kube-proxy/config.conf', '--hostname-override=node1'], { config: '/var/lib/kube-proxy/config.conf', 'hostname-override': 'node1' }],
    [['-h'], { help: true }],
    [['--version'], { version: true }],
    [['--iptables-sync-period', '1m', '--dry-run', '--manifests', './m'], { 'iptables-sync-period': '1m', 'dry-run': true, manifests: './m' }],
  ])('%j', (argv, want) => {
    expect(flags(argv)).toEqual(want);
  });

  it.each<[string[], string]>([
    [['--bogus'], '--bogus: unknown flag'],
    [['--bogus=1'], '--bogus: unknown flag'],
    [['-x'], '-x: unknown shorthand flag in -x'],
    [['-proxy-mode=ipvs'], '-p: unknown shorthand flag in -proxy-mode=ipvs'],
    [['ipvs'], 'arguments: unexpected argument "ipvs": kube-proxy takes flags only'],
    [['--', 'x'], 'arguments: unexpected argument "x": kube-proxy takes flags only'],
    [['--proxy-mode'], '--proxy-mode: flag needs an argument'],
    [['-v'], '-v: flag needs an argument'],
    [['--masquerade-all=yes'], '--masquerade-all: must be true or false, got "yes"'],
    [['--masquerade-all', 'false'], 'arguments: unexpected argument "false": kube-proxy takes flags only'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(ConfigError);
    expect(() => parseFlags(argv)).toThrow(message);
  });

  it('errors carry the flag code', () => {
    try {
      parseFlags(['--nope']);
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).code).toBe('KP_ERR_FLAG_INVALID');
    }
  });

  it('keeps a value that looks like a flag, as pflag does', () => {
    expect(normalizeArgv(['--hostname-override', '--dry-run'])).toEqual(['--hostname-override=--dry-run']);
  });
});

describe('helpText', () => {
  it('lists every flag with its upstream default', () => {
    const text = helpText();
    for (const f of FLAGS) expect(text).toContain(f.name.length === 1 ? `-${f.name}` : `--${f.name}`);
    expect(text).toMatch(/--healthz-bind-address[^]*\[default: 0\.0\.0\.0:10256\]/);
    expect(text).toMatch(/--metrics-bind-address[^]*\[default: 127\.0\.0\.1:10249\]/);
    expect(text).toMatch(/--proxy-mode[^]*\[default: iptables\]/);
  });
});
