import { describe, expect, it } from 'vitest';
import { appendPortIfNeeded, cidrFamily, formatHostPort, ipFamily, parseHostPort, splitHostPort } from './net.ts';

describe('ipFamily', () => {
  it.each([
    ['10.0.0.1', 'IPv4'],
    ['0.0.0.0', 'IPv4'],
    ['::', 'IPv6'],
    ['::1', 'IPv6'],
    ['fd00::1', 'IPv6'],
    ['::ffff:10.0.0.1', 'IPv6'],
    ['', null],
    ['10.0.0', null],
    ['010.0.0.1', null],
    ['0x0a.0.0.1', null],
    ['10.0.0.256', null],
    ['fe80::1%eth0', null],
    ['[::1]', null],
    ['localhost', null],
  ])('%j → %s', (text, family) => {
    expect(ipFamily(text)).toBe(family);
  });
});

describe('cidrFamily', () => {
  it.each([
    ['10.244.0.0/16', 'IPv4'],
    ['10.0.0.1/8', 'IPv4'],
    ['0.0.0.0/0', 'IPv4'],
    ['1.2.3.4/32', 'IPv4'],
    ['fd00::/64', 'IPv6'],
    ['::/0', 'IPv6'],
    ['2001:db8::/128', 'IPv6'],
    ['10.0.0.0', null],
    ['10.0.0.0/33', null],
    ['10.0.0.0/', null],
    ['10.0.0.0/-1', null],
    ['fd00::/129', null],
    ['foo/8', null],
    ['1.2.3/24', null],
  ])('%j → %s', (text, family) => {
    expect(cidrFamily(text)).toBe(family);
  });
});

describe('host:port', () => {
  it.each([
    ['0.0.0.0:10256', { host: '0.0.0.0', port: '10256' }],
    ['[::]:10256', { host: '::', port: '10256' }],
    [':10256', { host: '', port: '10256' }],
    ['::1:80', null],
    ['0.0.0.0', null],
    ['[::1]', null],
  ])('splitHostPort(%j)', (text, want) => {
    expect(splitHostPort(text)).toEqual(want);
  });

  it.each([
    ['0.0.0.0', 10256, '0.0.0.0:10256'],
    ['::', 10256, '[::]:10256'],
    ['127.0.0.1:9999', 10249, '127.0.0.1:9999'],
    ['[::1]:9999', 10249, '[::1]:9999'],
    ['not-an-ip', 10249, 'not-an-ip'],
  ])('appendPortIfNeeded(%j, %d) → %j', (addr, port, want) => {
    expect(appendPortIfNeeded(addr, port)).toBe(want);
  });

  it('parses and formats host:port both ways', () => {
    expect(parseHostPort('[::1]:10249')).toEqual({ host: '::1', port: 10249 });
    expect(parseHostPort('0.0.0.0:x')).toBeNull();
    expect(formatHostPort({ host: '::1', port: 10249 })).toBe('[::1]:10249');
    expect(formatHostPort({ host: '0.0.0.0', port: 10256 })).toBe('0.0.0.0:10256');
  });
});
