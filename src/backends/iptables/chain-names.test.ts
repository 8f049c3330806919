import { describe, expect, it } from 'vitest';
import { endpointChainName, hash16, isServiceChainName, joinHostPort, serviceChainNames } from './chain-names.ts';

describe('chain names (upstream vectors from proxier_test.go)', () => {
  it.each([
    ['ns1/svc1:p80', 'TCP', 'KUBE-SVC-XPGD46QRK7WJZT7O'],
    ['ns2/svc2:p80', 'TCP', 'KUBE-SVC-GNZBNJ2PO5MGZ6GT'],
    ['ns3/svc3:p80', 'TCP', 'KUBE-SVC-X27LE4BHSL4DOUIK'],
    ['ns4/svc4:p80', 'TCP', 'KUBE-SVC-4SW47YFZTEDKD3PK'],
    ['ns5/svc5:p80', 'TCP', 'KUBE-SVC-NUKIZ6OKUXPJNT4C'],
  ] as const)('%s/%s -> %s', (name, proto, want) => {
    expect(serviceChainNames(name, proto).svc).toBe(want);
  });

  it('shares the hash across SVC/SVL/EXT/FW', () => {
    expect(serviceChainNames('ns5/svc5:p80', 'TCP')).toEqual({
      svc: 'KUBE-SVC-NUKIZ6OKUXPJNT4C',
      svl: 'KUBE-SVL-NUKIZ6OKUXPJNT4C',
      ext: 'KUBE-EXT-NUKIZ6OKUXPJNT4C',
      fw: 'KUBE-FW-NUKIZ6OKUXPJNT4C',
    });
  });

  it.each([
    ['ns1/svc1:p80', '10.180.0.1:80', 'KUBE-SEP-SXIVWICOYRO3J4NJ'],
    ['ns2/svc2:p80', '10.180.0.2:80', 'KUBE-SEP-RS4RBKLTHTF2IUXJ'],
    ['ns3/svc3:p80', '10.180.0.3:80', 'KUBE-SEP-OYPFS5VJICHGATKP'],
    ['ns4/svc4:p80', '10.180.0.4:80', 'KUBE-SEP-UKSFD7AGPMPPLUHC'],
    ['ns4/svc4:p80', '10.180.0.5:80', 'KUBE-SEP-C6EBXVWJJZMIWKLZ'],
    ['ns5/svc5:p80', '10.180.0.3:80', 'KUBE-SEP-I77PXRDZVX7PMWMN'],
  ] as const)('endpoint %s %s -> %s', (name, ep, want) => {
    expect(endpointChainName(name, 'TCP', ep)).toBe(want);
  });

  it('differs by protocol and is 16 base32 characters', () => {
    const tcp = hash16('ns/a:dnstcp');
    const udp = hash16('ns/a:dnsudp');
    expect(tcp).not.toBe(udp);
    expect(tcp).toMatch(/^[A-Z2-7]{16}$/);
  });

  it('brackets IPv6 endpoints like net.JoinHostPort', () => {
    expect(joinHostPort('fd00::1', 80)).toBe('[fd00::1]:80');
    expect(joinHostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });

  it.each([
    ['KUBE-SVC-XPGD46QRK7WJZT7O', true],
    ['KUBE-SEP-SXIVWICOYRO3J4NJ', true],
    ['KUBE-FW-NUKIZ6OKUXPJNT4C', true],
    ['KUBE-SERVICES', false],
    ['KUBE-MARK-MASQ', false],
  ] as const)('isServiceChainName(%s) = %s', (chain, want) => {
    expect(isServiceChainName(chain)).toBe(want);
  });
});

describe('hash16 on non-ASCII input', () => {
  it('falls back to the general hasher (UTF-8 bytes, as Go hashes them)', () => {
    // sha256("é") = 0x6e 0x74 0x5c 0x8b ... computed by the general hasher path; the ASCII path
    // must never be used for it.
    expect(hash16('é')).toMatch(/^[A-Z2-7]{16}$/);
    expect(hash16('é')).not.toBe(hash16('e'));
  });
});
