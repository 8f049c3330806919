import { describe, expect, it } from 'vitest';
import { claimKey, planClaims, withoutUnclaimed } from './claims.ts';
import { svc } from './testing/fixtures.ts';

const nodeIPs = new Set(['192.0.2.11', '2001:db8::11']);
const isLocal = (ip: string): boolean => nodeIPs.has(ip);

describe('planClaims', () => {
  it.each([
    { name: 'no NodePort, nothing local: nothing to claim', services: [svc({ name: 'ns/a:http' })], want: [] },
    { name: 'a NodePort is claimed on every address', services: [svc({ name: 'ns/a:http', nodePort: 30080 })], want: ['0.0.0.0:30080/TCP'] },
    {
      name: 'a UDP NodePort is claimed as UDP',
      services: [svc({ name: 'ns/d:dns', protocol: 'UDP', port: 53, nodePort: 30053 })],
      want: ['0.0.0.0:30053/UDP'],
    },
    {
      name: 'an externalIP that is the node own address is claimed on its service port; others are not',
      services: [svc({ name: 'ns/a:http', externalIPs: ['192.0.2.11', '203.0.113.5'] })],
      want: ['192.0.2.11:80/TCP'],
    },
    {
      name: 'a local LB IP is claimed once even when also an externalIP',
      services: [svc({ name: 'ns/a:http', externalIPs: ['192.0.2.11'], loadBalancerVIPs: ['192.0.2.11'] })],
      want: ['192.0.2.11:80/TCP'],
    },
    { name: 'SCTP claims nothing', services: [svc({ name: 'ns/s', protocol: 'SCTP', nodePort: 30099 })], want: [] },
  ])('$name', ({ services, want }) => {
    const p = planClaims(services, 'IPv4', isLocal);
    expect(p.claims.map((c) => c.key)).toEqual(want);
    expect(p.conflicts).toEqual([]);
  });

  it('claims on :: for IPv6 and writes the key as upstream portMapKey.String()', () => {
    const p = planClaims([svc({ name: 'ns/a:http', family: 'IPv6', clusterIP: 'fd00:10:96::10', externalIPs: ['2001:db8::11'], nodePort: 30080 })], 'IPv6', isLocal);
    expect(p.claims.map((c) => c.key)).toEqual(['[2001:db8::11]:80/TCP', '[::]:30080/TCP']);
  });

  it('gives a contested key to the first service port by name and reports the other (upstream "Port conflict")', () => {
    const a = svc({ name: 'ns/a:http', nodePort: 30080 });
    const b = svc({ name: 'ns/b:http', nodePort: 30080 });
    const p = planClaims([b, a], 'IPv4', isLocal);
    expect(p.claims.map((c) => `${c.owner} ${c.key}`)).toEqual(['ns/a:http 0.0.0.0:30080/TCP']);
    expect(p.conflicts.map((c) => `${c.claim.owner} ${c.claim.key} held by ${c.holder}`)).toEqual([
      'ns/b:http 0.0.0.0:30080/TCP held by ns/a:http',
    ]);
  });

  it('does not conflict TCP with UDP on the same port', () => {
    const p = planClaims([svc({ name: 'ns/a:t', nodePort: 30053 }), svc({ name: 'ns/a:u', protocol: 'UDP', nodePort: 30053 })], 'IPv4', isLocal);
    expect(p.claims.map((c) => c.key)).toEqual(['0.0.0.0:30053/TCP', '0.0.0.0:30053/UDP']);
  });
});

describe('withoutUnclaimed', () => {
  const s = svc({ name: 'ns/a:http', externalIPs: ['192.0.2.11', '203.0.113.5'], loadBalancerVIPs: ['192.0.2.11'], nodePort: 30080 });
  it.each([
    { name: 'all claimed: the service port unchanged', unclaimed: [], externalIPs: ['192.0.2.11', '203.0.113.5'], vips: ['192.0.2.11'], nodePort: 30080 },
    { name: 'NodePort taken: no NodePort rules', unclaimed: [claimKey('0.0.0.0', 30080, 'TCP')], externalIPs: ['192.0.2.11', '203.0.113.5'], vips: ['192.0.2.11'], nodePort: 0 },
    { name: 'local address taken: its portals go', unclaimed: [claimKey('192.0.2.11', 80, 'TCP')], externalIPs: ['203.0.113.5'], vips: [], nodePort: 30080 },
    { name: 'a UDP key does not touch a TCP service port', unclaimed: [claimKey('0.0.0.0', 30080, 'UDP')], externalIPs: ['192.0.2.11', '203.0.113.5'], vips: ['192.0.2.11'], nodePort: 30080 },
  ])('$name', ({ unclaimed, externalIPs, vips, nodePort }) => {
    const out = withoutUnclaimed(s, 'IPv4', new Set(unclaimed));
    expect(out.externalIPs).toEqual(externalIPs);
    expect(out.loadBalancerVIPs).toEqual(vips);
    expect(out.nodePort).toBe(nodePort);
    expect(out.clusterIP).toBe(s.clusterIP);
  });
});
