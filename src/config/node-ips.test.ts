import { describe, expect, it } from 'vitest';
import { detectNodeIPs, isLoopbackIP, nodeHostIPs, primaryNodeIPs } from './node-ips.ts';

const node = (...addresses: [string, string][]) => ({ status: { addresses: addresses.map(([type, address]) => ({ type, address })) } });

describe('nodeHostIPs (upstream GetNodeHostIPs)', () => {
  it.each([
    ['no status', { status: {} }, []],
    ['hostname only', node(['Hostname', 'node-a']), []],
    ['InternalIP before an earlier ExternalIP', node(['ExternalIP', '203.0.113.9'], ['InternalIP', '192.0.2.10']), ['192.0.2.10']],
    ['ExternalIP when no InternalIP', node(['Hostname', 'a'], ['ExternalIP', '203.0.113.9']), ['203.0.113.9']],
    ['the first of each family, primary first', node(['InternalIP', 'fd00::10'], ['InternalIP', '192.0.2.10'], ['InternalIP', '192.0.2.11'], ['InternalIP', 'fd00::11']), ['fd00::10', '192.0.2.10']],
    ['other family from ExternalIP', node(['InternalIP', '192.0.2.10'], ['ExternalIP', '2001:db8::1']), ['192.0.2.10', '2001:db8::1']],
    ['unparseable addresses skipped', node(['InternalIP', 'not-an-ip'], ['InternalIP', '192.0.2.12']), ['192.0.2.12']],
  ])('%s', (_label, n, want) => {
    expect(nodeHostIPs(n)).toEqual(want);
  });
});

describe('detectNodeIPs (upstream detectNodeIPs)', () => {
  it.each([
    ['nothing known: loopback', [], '0.0.0.0', 'IPv4', { IPv4: '127.0.0.1', IPv6: '::1' }, 'loopback'],
    ['the Node\'s IPv4', ['192.0.2.10'], '0.0.0.0', 'IPv4', { IPv4: '192.0.2.10', IPv6: '::1' }, 'node'],
    ['an IPv6-primary dual-stack Node', ['fd00::10', '192.0.2.10'], '::', 'IPv6', { IPv4: '192.0.2.10', IPv6: 'fd00::10' }, 'node'],
    ['bindAddress overrides the primary', ['192.0.2.10'], '192.0.2.99', 'IPv4', { IPv4: '192.0.2.99', IPv6: '::1' }, 'bindAddress'],
    ['an IPv6 bindAddress makes IPv6 primary', ['192.0.2.10'], 'fd00::99', 'IPv6', { IPv4: '192.0.2.10', IPv6: 'fd00::99' }, 'bindAddress'],
    ['a loopback bindAddress is still unknown', [], '127.0.0.1', 'IPv4', { IPv4: '127.0.0.1', IPv6: '::1' }, 'loopback'],
  ] as const)('%s', (_label, raw, bind, primary, byFamily, source) => {
    expect(detectNodeIPs(raw, bind)).toEqual({ primaryFamily: primary, byFamily, source });
  });
});

describe('primaryNodeIPs', () => {
  it.each([
    ['loopback is left out (nodePortAddresses "primary" then means all)', [], ['IPv4', 'IPv6'], []],
    ['primary family first', ['fd00::10', '192.0.2.10'], ['IPv4', 'IPv6'], ['fd00::10', '192.0.2.10']],
    ['only the proxied families', ['fd00::10', '192.0.2.10'], ['IPv4'], ['192.0.2.10']],
  ] as const)('%s', (_label, raw, families, want) => {
    expect(primaryNodeIPs(detectNodeIPs(raw, '0.0.0.0'), families)).toEqual(want);
  });

  it.each([
    ['127.0.0.1', true], ['127.3.2.1', true], ['::1', true], ['192.0.2.1', false], ['fd00::1', false], ['junk', false],
  ])('isLoopbackIP(%s) = %s', (ip, want) => {
    expect(isLoopbackIP(ip)).toBe(want);
  });
});
