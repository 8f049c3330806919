import { describe, expect, it } from 'vitest';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { destinationKey, nodePortCandidates, planIpvs } from './plan.ts';
import type { IpvsPlanOptions } from './plan.ts';

const opts: IpvsPlanOptions = { scheduler: '', nodePortIPs: ['192.0.2.11', '198.51.100.7'], localAddresses: new Set(['192.0.2.11', '198.51.100.7', '203.0.113.9']) };

const summary = (p: ReturnType<typeof planIpvs>): Record<string, string[]> =>
  Object.fromEntries(
    [...p.virtualServers.values()].map((v) => [
      `${v.key} ${v.service.scheduler} f${v.service.flags} t${v.service.timeout} /${v.service.prefixLength} ${v.kind}`,
      [...v.destinations.values()].map((d) => `${destinationKey(d)} w${d.weight} ${d.forward}`),
    ]),
  );

describe('planIpvs', () => {
  const cases: { name: string; state: Parameters<typeof planIpvs>[0]; opts?: Partial<IpvsPlanOptions>; vs: Record<string, string[]>; bound: string[] }[] = [
    {
      name: 'ClusterIP: one virtual server, ready endpoints as weight-1 masq real servers, VIP bound',
      state: makeState('IPv4', [[svcPort('ns', 'a', 'http', { clusterIP: '10.96.0.10' }), [ep('10.244.1.5', 8080), ep('10.244.2.6', 8080), ep('10.244.3.7', 8080, { ready: false, serving: false })]]]),
      vs: { '10.96.0.10:80/TCP rr f0 t0 /32 clusterIP': ['10.244.1.5:8080 w1 masq', '10.244.2.6:8080 w1 masq'] },
      bound: ['10.96.0.10'],
    },
    {
      name: 'NodePort: one virtual server per node address, not bound',
      state: makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.11', protocol: 'UDP', port: 53, nodePort: 30053 }), [ep('10.244.1.5', 5353)]]]),
      vs: {
        '10.96.0.11:53/UDP rr f0 t0 /32 clusterIP': ['10.244.1.5:5353 w1 masq'],
        '192.0.2.11:30053/UDP rr f0 t0 /32 nodePort': ['10.244.1.5:5353 w1 masq'],
        '198.51.100.7:30053/UDP rr f0 t0 /32 nodePort': ['10.244.1.5:5353 w1 masq'],
      },
      bound: ['10.96.0.11'],
    },
    {
      name: 'externalIPs and LB IPs: bound unless already local; eTP Local picks local endpoints',
      state: makeState('IPv4', [[
        svcPort('ns', 'a', '', { clusterIP: '10.96.0.12', externalIPs: ['203.0.113.9', '203.0.113.10'], loadBalancerVIPs: ['198.18.0.1'], externalPolicyLocal: true }),
        [ep('10.244.1.5', 80, { isLocal: true }), ep('10.244.2.6', 80)],
      ]]),
      vs: {
        '10.96.0.12:80/TCP rr f0 t0 /32 clusterIP': ['10.244.1.5:80 w1 masq', '10.244.2.6:80 w1 masq'],
        '203.0.113.9:80/TCP rr f0 t0 /32 externalIP': ['10.244.1.5:80 w1 masq'],
        '203.0.113.10:80/TCP rr f0 t0 /32 externalIP': ['10.244.1.5:80 w1 masq'],
        '198.18.0.1:80/TCP rr f0 t0 /32 loadBalancer': ['10.244.1.5:80 w1 masq'],
      },
      bound: ['10.96.0.12', '198.18.0.1', '203.0.113.10'],
    },
    {
      name: 'eTP Local without a local endpoint falls back to cluster endpoints for external VIPs',
      state: makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.13', externalIPs: ['203.0.113.10'], externalPolicyLocal: true }), [ep('10.244.2.6', 80)]]]),
      vs: { '10.96.0.13:80/TCP rr f0 t0 /32 clusterIP': ['10.244.2.6:80 w1 masq'], '203.0.113.10:80/TCP rr f0 t0 /32 externalIP': ['10.244.2.6:80 w1 masq'] },
      bound: ['10.96.0.13', '203.0.113.10'],
    },
    {
      name: 'iTP Local: ClusterIP only gets local endpoints (none here)',
      state: makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.14', internalPolicyLocal: true }), [ep('10.244.2.6', 80)]]]),
      vs: { '10.96.0.14:80/TCP rr f0 t0 /32 clusterIP': [] },
      bound: ['10.96.0.14'],
    },
    {
      name: 'ClientIP affinity: persistent flag, timeout, /32',
      state: makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.15', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } }), []]]),
      vs: { '10.96.0.15:80/TCP rr f1 t10800 /32 clusterIP': [] },
      bound: ['10.96.0.15'],
    },
    {
      name: 'mh scheduler carries the source-port flag; IPv6 gets /128',
      opts: { scheduler: 'mh', nodePortIPs: [] },
      state: makeState('IPv6', [[svcPort('ns', 'a', '', { family: 'IPv6', clusterIP: 'fd00:96::a', nodePort: 30080 }), [ep('fd00:244::5', 80)]]]),
      vs: { '[fd00:96::a]:80/TCP mh f16 t0 /128 clusterIP': ['[fd00:244::5]:80 w1 masq'] },
      bound: ['fd00:96::a'],
    },
    {
      name: 'two Services on one externalIP:port: the first by name keeps it',
      state: makeState('IPv4', [
        [svcPort('ns', 'b', '', { clusterIP: '10.96.0.17', externalIPs: ['203.0.113.10'] }), [ep('10.244.2.7', 80)]],
        [svcPort('ns', 'a', '', { clusterIP: '10.96.0.16', externalIPs: ['203.0.113.10'] }), [ep('10.244.2.6', 80)]],
      ]),
      vs: {
        '10.96.0.16:80/TCP rr f0 t0 /32 clusterIP': ['10.244.2.6:80 w1 masq'],
        '203.0.113.10:80/TCP rr f0 t0 /32 externalIP': ['10.244.2.6:80 w1 masq'],
        '10.96.0.17:80/TCP rr f0 t0 /32 clusterIP': ['10.244.2.7:80 w1 masq'],
      },
      bound: ['10.96.0.16', '10.96.0.17', '203.0.113.10'],
    },
  ];
  it.each(cases)('$name', (c) => {
    const p = planIpvs(c.state, { ...opts, ...c.opts });
    expect(summary(p)).toEqual(c.vs);
    expect([...p.boundAddresses].sort()).toEqual(c.bound.sort());
  });

  it('records which service port lost a contested virtual server', () => {
    const p = planIpvs(cases[7]?.state ?? makeState('IPv4', []), opts);
    expect(p.conflicts).toEqual([{ key: '203.0.113.10:80/TCP', owner: 'ns/a', loser: 'ns/b' }]);
    expect(p.byServicePort.get('ns/b')).toEqual(['10.96.0.17:80/TCP']);
  });

  it('ignores service ports of the other family', () => {
    const p = planIpvs(makeState('IPv4', [[svcPort('ns', 'a', '', { family: 'IPv6', clusterIP: 'fd00::1' }), []]]), opts);
    expect(p.virtualServers.size).toBe(0);
  });
});

describe('nodePortCandidates', () => {
  it.each([
    ['IPv4', ['127.0.0.1', '192.0.2.11', 'fe80::1', '2001:db8::1'], ['192.0.2.11']],
    ['IPv6', ['127.0.0.1', '::1', 'fe80::1', '2001:db8::1', 'FE80::2'], ['2001:db8::1']],
  ] as const)('%s', (family, input, want) => {
    expect(nodePortCandidates(input, family)).toEqual(want);
  });
});
