import { describe, expect, it } from 'vitest';
import { formatHostPort, listenHost } from './listen.ts';

describe('listenHost', () => {
  it.each([
    // Upstream's "0.0.0.0" is Go's dual-stack wildcard: Node's equivalent is no host at all.
    ['0.0.0.0', undefined],
    ['', undefined],
    ['::', '::'],
    ['127.0.0.1', '127.0.0.1'],
    ['192.0.2.11', '192.0.2.11'],
    ['2001:db8::11', '2001:db8::11'],
  ])('%j -> %j', (host, expected) => {
    expect(listenHost(host)).toBe(expected);
  });
});

describe('formatHostPort', () => {
  it.each([
    ['0.0.0.0', 10256, '0.0.0.0:10256'],
    ['::', 10256, '[::]:10256'],
    ['2001:db8::11', 32081, '[2001:db8::11]:32081'],
  ])('%s %d -> %s', (host, port, expected) => {
    expect(formatHostPort(host, port)).toBe(expected);
  });
});
