import { describe, expect, it } from 'vitest';
import { JUMPS, parseJumps, renderCleanup, renderParked, renderPortals, type PortalOptions } from './portal-rules.ts';
import { svc } from './testing/fixtures.ts';

const all: PortalOptions = { family: 'IPv4', listenIP: '0.0.0.0', hostIP: '192.0.2.11' };
const allJumps = new Set(JUMPS.map((j) => `${j.chain}>${j.target}`));

describe('renderPortals', () => {
  it('renders a ClusterIP, an external IP, an LB IP and a NodePort (golden)', () => {
    const s = svc({ name: 'ns/web:http', externalIPs: ['203.0.113.5'], loadBalancerVIPs: ['198.51.100.7'], nodePort: 30080 });
    const r = renderPortals([{ service: s, proxyPort: 40001 }], all, allJumps);
    expect(r.text).toBe(
      [
        '*nat',
        ':KUBE-PORTALS-CONTAINER - [0:0]',
        ':KUBE-PORTALS-HOST - [0:0]',
        ':KUBE-NODEPORT-CONTAINER - [0:0]',
        ':KUBE-NODEPORT-HOST - [0:0]',
        '-A KUBE-PORTALS-CONTAINER -m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 10.96.0.10/32 -j REDIRECT --to-ports 40001',
        '-A KUBE-PORTALS-CONTAINER -m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 198.51.100.7/32 -j REDIRECT --to-ports 40001',
        '-A KUBE-PORTALS-CONTAINER -m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 203.0.113.5/32 -m physdev ! --physdev-is-in -j REDIRECT --to-ports 40001',
        '-A KUBE-PORTALS-CONTAINER -m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 203.0.113.5/32 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 40001',
        '-A KUBE-PORTALS-HOST -m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 10.96.0.10/32 -j DNAT --to-destination 192.0.2.11:40001',
        '-A KUBE-PORTALS-HOST -m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 198.51.100.7/32 -j DNAT --to-destination 192.0.2.11:40001',
        '-A KUBE-PORTALS-HOST -m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 203.0.113.5/32 -m addrtype --dst-type LOCAL -j DNAT --to-destination 203.0.113.5:40001',
        '-A KUBE-NODEPORT-CONTAINER -m comment --comment "ns/web:http" -p tcp -m tcp --dport 30080 -j REDIRECT --to-ports 40001',
        '-A KUBE-NODEPORT-HOST -m comment --comment "ns/web:http" -p tcp -m tcp --dport 30080 -j DNAT --to-destination 192.0.2.11:40001',
        'COMMIT',
        '*filter',
        ':KUBE-NODEPORT-NON-LOCAL - [0:0]',
        ':KUBE-SERVICES - [0:0]',
        ':KUBE-EXTERNAL-SERVICES - [0:0]',
        '-A KUBE-NODEPORT-NON-LOCAL -m comment --comment "ns/web:http" -p tcp -m tcp --dport 40001 -m state --state NEW -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(r.natRules).toBe(9);
    expect(r.filterRules).toBe(1);
  });

  it.each([
    { name: 'specific IPv4 listen address: DNAT everywhere', o: { family: 'IPv4', listenIP: '192.0.2.11', hostIP: '192.0.2.11' }, ip: '10.96.0.10', c: '-j DNAT --to-destination 192.0.2.11:40001', h: '-j DNAT --to-destination 192.0.2.11:40001', mask: '/32' },
    { name: 'IPv6 on all addresses', o: { family: 'IPv6', listenIP: '::', hostIP: 'fd00::11' }, ip: 'fd00:96::10', c: '-j REDIRECT --to-ports 40001', h: '-j DNAT --to-destination [fd00::11]:40001', mask: '/128' },
  ] as const)('$name', ({ o, ip, c, h, mask }) => {
    const s = svc({ name: 'ns/a', family: o.family, clusterIP: ip, protocol: 'UDP', port: 53 });
    const lines = renderPortals([{ service: s, proxyPort: 40001 }], o, allJumps).text.split('\n');
    expect(lines).toContain(`-A KUBE-PORTALS-CONTAINER -m comment --comment "ns/a" -p udp -m udp --dport 53 -d ${ip}${mask} ${c}`);
    expect(lines).toContain(`-A KUBE-PORTALS-HOST -m comment --comment "ns/a" -p udp -m udp --dport 53 -d ${ip}${mask} ${h}`);
  });

  it('sends outside traffic to the external listener and the node and its bridged pods to the main one (golden)', () => {
    const s = svc({ name: 'ns/web:http', externalIPs: ['203.0.113.5'], loadBalancerVIPs: ['198.51.100.7'], nodePort: 30080, externalPolicyLocal: true });
    const text = renderPortals([{ service: s, proxyPort: 40001, externalProxyPort: 40002 }], all, allJumps).text;
    const m = '-m comment --comment "ns/web:http" -p tcp -m tcp';
    expect(text.split('\n').filter((l) => l.startsWith('-A KUBE-'))).toEqual([
      `-A KUBE-PORTALS-CONTAINER ${m} --dport 80 -d 10.96.0.10/32 -j REDIRECT --to-ports 40001`,
      `-A KUBE-PORTALS-CONTAINER ${m} --dport 80 -d 198.51.100.7/32 -m physdev --physdev-is-in -j REDIRECT --to-ports 40001`,
      `-A KUBE-PORTALS-CONTAINER ${m} --dport 80 -d 198.51.100.7/32 -j REDIRECT --to-ports 40002`,
      `-A KUBE-PORTALS-CONTAINER ${m} --dport 80 -d 203.0.113.5/32 -m physdev ! --physdev-is-in -j REDIRECT --to-ports 40002`,
      `-A KUBE-PORTALS-CONTAINER ${m} --dport 80 -d 203.0.113.5/32 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 40001`,
      `-A KUBE-PORTALS-HOST ${m} --dport 80 -d 10.96.0.10/32 -j DNAT --to-destination 192.0.2.11:40001`,
      `-A KUBE-PORTALS-HOST ${m} --dport 80 -d 198.51.100.7/32 -j DNAT --to-destination 192.0.2.11:40001`,
      `-A KUBE-PORTALS-HOST ${m} --dport 80 -d 203.0.113.5/32 -m addrtype --dst-type LOCAL -j DNAT --to-destination 203.0.113.5:40001`,
      `-A KUBE-NODEPORT-CONTAINER ${m} --dport 30080 -m physdev --physdev-is-in -j REDIRECT --to-ports 40001`,
      `-A KUBE-NODEPORT-CONTAINER ${m} --dport 30080 -j REDIRECT --to-ports 40002`,
      `-A KUBE-NODEPORT-HOST ${m} --dport 30080 -j DNAT --to-destination 192.0.2.11:40001`,
      `-A KUBE-NODEPORT-NON-LOCAL ${m} --dport 40002 -m state --state NEW -j ACCEPT`,
    ]);
  });

  it('adds the missing jumps only, portal jumps first and NodePort jumps last', () => {
    const present = new Set(['OUTPUT>KUBE-PORTALS-HOST']);
    const lines = renderPortals([], all, present).text.split('\n');
    const jumps = lines.filter((l) => /^-[IA] (PREROUTING|OUTPUT|INPUT|FORWARD) /.test(l));
    expect(jumps).toEqual([
      '-I PREROUTING 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
      '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER',
      '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST',
      '-I INPUT 1 -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL',
      // The iptables mode's own jumps into the REJECT chains, in its order.
      '-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      '-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      '-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
  });

  it('writes no portal but upstream REJECTs for a service port with no endpoints (golden)', () => {
    const s = svc({ name: 'ns/web:http', externalIPs: ['203.0.113.5'], loadBalancerVIPs: ['198.51.100.7'], nodePort: 30080, protocol: 'UDP' });
    const r = renderPortals([{ service: s, proxyPort: 40001, hasEndpoints: false }], all, allJumps);
    const c = '-m comment --comment "ns/web:http has no endpoints" -m udp -p udp';
    expect(r.text.split('\n').filter((l) => l.startsWith('-A '))).toEqual([
      `-A KUBE-SERVICES ${c} -d 10.96.0.10 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES ${c} -d 203.0.113.5 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES ${c} -d 198.51.100.7 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns/web:http has no endpoints" -m addrtype --dst-type LOCAL -m udp -p udp --dport 30080 -j REJECT`,
    ]);
    expect(r).toMatchObject({ natRules: 0, filterRules: 4 });
  });

  it.each([
    { name: 'a range without the node', ranges: ['203.0.113.0/24'], sources: ['203.0.113.0/24'] },
    { name: 'a range holding the node: the LB IP as a source too', ranges: ['203.0.113.0/24', '192.0.2.0/24'], sources: ['203.0.113.0/24', '192.0.2.0/24', '198.51.100.7'] },
  ])('loadBalancerSourceRanges, $name: portals for the listed sources only, the rest dropped, the node itself always served', ({ ranges, sources }) => {
    const s = svc({ name: 'ns/web:http', loadBalancerVIPs: ['198.51.100.7'], loadBalancerSourceRanges: ranges });
    const lines = renderPortals([{ service: s, proxyPort: 40001 }], all, allJumps).text.split('\n');
    const m = '-m comment --comment "ns/web:http" -p tcp -m tcp --dport 80 -d 198.51.100.7/32';
    expect(lines.filter((l) => l.includes('198.51.100.7'))).toEqual([
      ...sources.map((src) => `-A KUBE-PORTALS-CONTAINER ${m} -s ${src} -j REDIRECT --to-ports 40001`),
      `-A KUBE-PORTALS-HOST ${m} -j DNAT --to-destination 192.0.2.11:40001`,
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns/web:http traffic not accepted by loadBalancerSourceRanges" -m tcp -p tcp -d 198.51.100.7 --dport 80 -j DROP',
    ]);
  });

  it('cuts comments as the iptables mode does (xt_comment holds 255 characters)', () => {
    const long = `ns/${'a'.repeat(300)}`;
    const lines = renderPortals([{ service: svc({ name: long }), proxyPort: 1 }], all, allJumps).text.split('\n');
    const comments = lines.flatMap((l) => [...l.matchAll(/--comment "([^"]*)"/g)].map((x) => x[1] ?? ''));
    expect(comments.length).toBeGreaterThan(0);
    expect(Math.max(...comments.map((c) => c.length))).toBe(255);
    expect(comments).toContain(long.slice(0, 255));
  });

  it('orders service ports by name whatever the input order', () => {
    const a = { service: svc({ name: 'ns/a', clusterIP: '10.96.0.1' }), proxyPort: 1 };
    const b = { service: svc({ name: 'ns/b', clusterIP: '10.96.0.2' }), proxyPort: 2 };
    expect(renderPortals([b, a], all, allJumps).text).toBe(renderPortals([a, b], all, allJumps).text);
  });
});

describe('renderParked', () => {
  const hold = '-m comment --comment "userspace proxy stopped: hold redirected traffic for the next proxy"';
  it('replaces the NodePort ACCEPTs with drops of redirected new TCP connections and all redirected UDP (golden)', () => {
    const text = renderParked(
      [
        { protocol: 'UDP', proxyPort: 40002 },
        { protocol: 'TCP', proxyPort: 40001 },
      ],
      allJumps,
    );
    expect(text).toBe(
      [
        '*filter',
        ':KUBE-NODEPORT-NON-LOCAL - [0:0]',
        `-A KUBE-NODEPORT-NON-LOCAL ${hold} -p tcp -m tcp --dport 40001 -m conntrack --ctstate NEW -m conntrack --ctstate DNAT -j DROP`,
        `-A KUBE-NODEPORT-NON-LOCAL ${hold} -p udp -m udp --dport 40002 -m conntrack --ctstate DNAT -j DROP`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('restores the INPUT jump when it is missing and touches no nat chain', () => {
    const lines = renderParked([{ protocol: 'TCP', proxyPort: 1 }], new Set()).split('\n');
    expect(lines).toContain('-I INPUT 1 -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL');
    expect(lines.filter((l) => l.startsWith('*'))).toEqual(['*filter']);
  });
});

describe('parseJumps and renderCleanup', () => {
  const save = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    '-A INPUT -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
    '-A PREROUTING -j KUBE-SERVICES',
    '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "x" -j KUBE-NODEPORT-HOST',
    '-A KUBE-PORTALS-CONTAINER -p tcp -j REDIRECT --to-ports 1',
    'COMMIT',
  ].join('\n');

  it('finds our jumps in their tables and nothing else', () => {
    expect(parseJumps(save).map((j) => j.key)).toEqual([
      'INPUT>KUBE-NODEPORT-NON-LOCAL',
      'PREROUTING>KUBE-PORTALS-CONTAINER',
      'OUTPUT>KUBE-NODEPORT-HOST',
    ]);
  });

  it('deletes the found jumps as saved, then every chain', () => {
    const text = renderCleanup(parseJumps(save));
    expect(text).toContain('-D OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "x" -j KUBE-NODEPORT-HOST\n');
    expect(text.split('\n').filter((l) => l.startsWith('-X '))).toEqual([
      '-X KUBE-PORTALS-CONTAINER',
      '-X KUBE-PORTALS-HOST',
      '-X KUBE-NODEPORT-CONTAINER',
      '-X KUBE-NODEPORT-HOST',
      '-X KUBE-NODEPORT-NON-LOCAL',
      '-X KUBE-SERVICES',
      '-X KUBE-EXTERNAL-SERVICES',
    ]);
    expect(text.indexOf('-D INPUT')).toBeGreaterThan(text.indexOf('*filter'));
  });
});
