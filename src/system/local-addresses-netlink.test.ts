// The rtnetlink reader against `ip -j addr show` in this process's own network namespace (read
// only; nothing is changed): same addresses, same order, same link names. The namespace with
// addresses of our own (IPv4 and IPv6 on a veth) is test/local-addresses-netlink.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import type { IPFamily } from '../model/types.ts';
import { exec } from './exec.ts';
import { openNetlinkAddressSource } from './local-addresses-netlink.ts';
import { parseIpAddrJson } from './local-addresses.ts';

describe('openNetlinkAddressSource', () => {
  const source = openNetlinkAddressSource();
  afterAll(() => source.close());

  it.each<[string, IPFamily | undefined]>([
    ['both families', undefined],
    ['IPv4', 'IPv4'],
    ['IPv6', 'IPv6'],
  ])('reads what ip -j addr shows: %s', async (_name, family) => {
    const viaIp = parseIpAddrJson((await exec('ip', ['-j', 'addr', 'show'], { timeoutMs: 10_000 })).stdout).filter(
      (a) => family === undefined || a.family === family,
    );
    const viaNetlink = await source.read(family);
    expect(viaNetlink).toEqual(viaIp);
    // Every namespace has loopback with 127.0.0.1 (unless IPv6-only reads were asked for).
    if (family !== 'IPv6') expect(viaNetlink.map((a) => a.ip)).toContain('127.0.0.1');
  });
});
