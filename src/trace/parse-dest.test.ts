import { describe, expect, it } from 'vitest';
import { TraceInputError } from '../errors.ts';
import { parseDest, parseFrom } from './parse-dest.ts';
import { podAddressIn } from './sample-sources.ts';

describe('parseDest', () => {
  it.each([
    ['10.96.0.10:80', { ip: '10.96.0.10', port: 80, protocol: 'tcp', family: 'IPv4' }],
    ['10.96.0.10:53/UDP', { ip: '10.96.0.10', port: 53, protocol: 'udp', family: 'IPv4' }],
    ['[fd00:10:96::a]:443/sctp', { ip: 'fd00:10:96::a', port: 443, protocol: 'sctp', family: 'IPv6' }],
    ['[FD00:0:0::1]:1', { ip: 'fd00::1', port: 1, protocol: 'tcp', family: 'IPv6' }],
  ])('%s', (text, want) => expect(parseDest(text)).toEqual(want));

  it.each([
    ['10.96.0.10', /no port/],
    ['10.96.0.10:0', /out of range/],
    ['10.96.0.10:70000', /out of range/],
    ['10.96.0.10:80/icmp', /unknown protocol "icmp"/],
    ['fd00::1:80', /IPv6 address needs brackets/],
    ['web:80', /"web" is not an IP address/],
  ])('refuses %s in one line', (text, why) => {
    expect(() => parseDest(text)).toThrow(TraceInputError);
    expect(() => parseDest(text)).toThrow(why);
  });
});

describe('parseFrom', () => {
  const d = parseDest('10.96.0.10:80');
  it('defaults to a pod and takes the kinds and addresses', () => {
    expect(parseFrom(undefined, d)).toEqual({ kind: 'pod' });
    expect(parseFrom('external', d)).toEqual({ kind: 'external' });
    expect(parseFrom('node', d)).toEqual({ kind: 'node' });
    expect(parseFrom('10.244.1.7', d)).toEqual({ kind: 'ip', ip: '10.244.1.7' });
  });
  it('refuses a word it does not know and a source of the other family', () => {
    expect(() => parseFrom('pods', d)).toThrow(/expected pod, node, external or an IP address/);
    expect(() => parseFrom('fd00::1', d)).toThrow(/IPv6 source cannot reach the IPv4 DEST/);
  });
});

describe('podAddressIn', () => {
  it.each([
    ['10.244.0.0/16', '10.244.255.254'],
    ['10.0.0.0/8', '10.255.255.254'],
    ['fd00:10::/64', 'fd00:10::ffff:ffff:ffff:fffe'],
    ['10.1.2.0/23', '10.1.3.254'],
    ['nope', null],
  ])('%s -> %s', (cidr, want) => expect(podAddressIn(cidr)).toBe(want));
});
