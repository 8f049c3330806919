import { describe, expect, it } from 'vitest';
import { parseIpAddrJson } from './local-addresses.ts';

describe('parseIpAddrJson', () => {
  it('keeps inet and inet6 addresses with their interface', () => {
    const json = JSON.stringify([
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
      { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.11', prefixlen: 24 }] },
      { ifname: 'down0' },
    ]);
    expect(parseIpAddrJson(json)).toEqual([
      { ip: '127.0.0.1', prefixLength: 8, family: 'IPv4', interface: 'lo' },
      { ip: '::1', prefixLength: 128, family: 'IPv6', interface: 'lo' },
      { ip: '192.0.2.11', prefixLength: 24, family: 'IPv4', interface: 'eth0' },
    ]);
  });
  it('rejects output that is not an array', () => {
    expect(() => parseIpAddrJson('{}')).toThrow(/JSON array/);
  });
});
