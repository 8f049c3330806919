import { describe, expect, it } from 'vitest';
import { conntrackArgs } from './conntrack.ts';

describe('conntrack arguments', () => {
  it.each([
    [{ kind: 'service-ip', ip: '10.96.0.10' }, 'IPv4', '-D -f ipv4 -p udp --orig-dst 10.96.0.10'],
    [
      { kind: 'service-ip-to-endpoint', ip: 'fd00::a', endpointIP: 'fd01::1' },
      'IPv6',
      '-D -f ipv6 -p udp --orig-dst fd00::a --reply-src fd01::1',
    ],
    [{ kind: 'nodeport', port: 30053 }, 'IPv4', '-D -f ipv4 -p udp --orig-port-dst 30053'],
    [
      { kind: 'nodeport-to-endpoint', port: 30053, endpointIP: '10.244.1.10' },
      'IPv4',
      '-D -f ipv4 -p udp --orig-port-dst 30053 --reply-src 10.244.1.10',
    ],
  ] as const)('%o', (filter, family, want) => {
    expect(conntrackArgs(family, 'UDP', filter).join(' ')).toBe(want);
  });
});
