import { describe, expect, it } from 'vitest';
import { parseCIDR, parseIP } from './ip.ts';

describe('parseIP', () => {
  it.each([
    ['10.0.0.1', { ip: '10.0.0.1', family: 'IPv4' }],
    ['010.000.0.1', { ip: '10.0.0.1', family: 'IPv4' }],
    ['2001:DB8:0::1', { ip: '2001:db8::1', family: 'IPv6' }],
    ['::ffff:1.2.3.4', { ip: '1.2.3.4', family: 'IPv4' }],
    ['256.0.0.1', undefined],
    ['10.1', undefined],
    ['0x0a.0.0.1', undefined],
    ['fe80::1%eth0', undefined],
    ['', undefined],
    ['None', undefined],
  ])('%s', (input, want) => {
    expect(parseIP(input)).toEqual(want);
  });
});

describe('parseCIDR', () => {
  it.each([
    ['10.1.2.3/8', { cidr: '10.0.0.0/8', family: 'IPv4' }],
    ['1.2.3.4', { cidr: '1.2.3.4/32', family: 'IPv4' }],
    ['0.0.0.0/0', { cidr: '0.0.0.0/0', family: 'IPv4' }],
    ['2001:db8::1/64', { cidr: '2001:db8::/64', family: 'IPv6' }],
    ['2001:db8::1', { cidr: '2001:db8::1/128', family: 'IPv6' }],
    ['10.0.0.0/33', undefined],
    ['10.0.0.0/', undefined],
    ['10.0.0.0/-1', undefined],
    ['bogus/8', undefined],
  ])('%s', (input, want) => {
    expect(parseCIDR(input)).toEqual(want);
  });
});
