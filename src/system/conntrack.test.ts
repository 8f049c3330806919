import { describe, expect, it } from 'vitest';
import { conntrackArgs, parseConntrackUdp } from './conntrack.ts';

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

describe('parseConntrackUdp', () => {
  it('reads the original destination and the reply source of each UDP line (conntrack -L output)', () => {
    const text = [
      'udp      17 29 src=10.244.1.3 dst=10.96.0.53 sport=40001 dport=53 src=10.244.2.3 dst=10.244.1.3 sport=53 dport=40001 [ASSURED] mark=0 use=1',
      'udp      17 25 src=10.244.1.3 dst=10.96.0.54 sport=40002 dport=53 [UNREPLIED] src=10.96.0.54 dst=10.244.1.3 sport=53 dport=40002 mark=0 use=1',
      'udp      17 25 src=fd00:10:244:1::3 dst=fd00:10:96::53 sport=1 dport=53 src=fd00:10:244:2::3 dst=fd00:10:244:1::3 sport=5353 dport=1 mark=0 use=1',
      'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1',
      'udp      17 25 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2',
      '',
    ].join('\n');
    expect(parseConntrackUdp(text)).toEqual([
      { origDst: '10.96.0.53', origDstPort: 53, replySrc: '10.244.2.3', replySrcPort: 53 },
      { origDst: '10.96.0.54', origDstPort: 53, replySrc: '10.96.0.54', replySrcPort: 53 },
      { origDst: 'fd00:10:96::53', origDstPort: 53, replySrc: 'fd00:10:244:2::3', replySrcPort: 5353 },
    ]);
  });
});
