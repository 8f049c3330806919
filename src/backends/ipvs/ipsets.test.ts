import { describe, expect, it } from 'vitest';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { allSetNames, ipsetEntries, renderIpsetRestore, setName } from './ipsets.ts';
import { planIpvs } from './plan.ts';

const NODE = '192.0.2.11';
const opts = { scheduler: 'rr', nodePortIPs: [NODE], localAddresses: new Set([NODE]) };

function entriesOf(state: ReturnType<typeof makeState>): Record<string, string[]> {
  const p = ipsetEntries(state, planIpvs(state, opts), [NODE]);
  return Object.fromEntries([...p.entries].filter(([, s]) => s.size > 0).map(([k, s]) => [k, [...s].sort()]));
}

describe('ipsetEntries', () => {
  it.each([
    {
      name: 'ClusterIP with a local endpoint: cluster set, hairpin set, bound VIP',
      state: makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.10' }), [ep('10.244.1.5', 8080, { isLocal: true }), ep('10.244.2.6', 8080)]]]),
      want: { 'KUBE-CLUSTER-IP': ['10.96.0.10,tcp:80'], 'KUBE-LOOP-BACK': ['10.244.1.5,tcp:8080,10.244.1.5'], 'KUBE-IPVS-IPS': ['10.96.0.10'] },
    },
    {
      name: 'NodePort TCP with eTP Local and health check; UDP NodePort',
      state: makeState('IPv4', [
        [svcPort('ns', 'a', '', { clusterIP: '10.96.0.10', nodePort: 30080, externalPolicyLocal: true, healthCheckNodePort: 32000 }), []],
        [svcPort('ns', 'b', '', { clusterIP: '10.96.0.11', protocol: 'UDP', port: 53, nodePort: 30053 }), []],
      ]),
      want: {
        'KUBE-CLUSTER-IP': ['10.96.0.10,tcp:80', '10.96.0.11,udp:53'],
        'KUBE-NODE-PORT-TCP': ['30080'],
        'KUBE-NODE-PORT-LOCAL-TCP': ['30080'],
        'KUBE-NODE-PORT-UDP': ['30053'],
        'KUBE-HEALTH-CHECK-NODE-PORT': ['32000'],
        'KUBE-IPVS-IPS': ['10.96.0.10', '10.96.0.11'],
      },
    },
    {
      name: 'SCTP NodePort uses the hash set per node IP',
      state: makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.12', protocol: 'SCTP', nodePort: 30099 }), []]]),
      want: { 'KUBE-CLUSTER-IP': ['10.96.0.12,sctp:80'], 'KUBE-NODE-PORT-SCTP-HASH': [`${NODE},sctp:30099`], 'KUBE-IPVS-IPS': ['10.96.0.12'] },
    },
    {
      name: 'externalIPs by policy; LB with source ranges that cover the node',
      state: makeState('IPv4', [
        [svcPort('ns', 'a', '', { clusterIP: '10.96.0.13', externalIPs: ['203.0.113.1'], loadBalancerVIPs: ['198.18.0.1'], loadBalancerSourceRanges: ['192.0.2.0/24', '10.0.0.0/8'] }), []],
        [svcPort('ns', 'b', '', { clusterIP: '10.96.0.14', externalIPs: ['203.0.113.2'], externalPolicyLocal: true }), []],
      ]),
      want: {
        'KUBE-CLUSTER-IP': ['10.96.0.13,tcp:80', '10.96.0.14,tcp:80'],
        'KUBE-EXTERNAL-IP': ['203.0.113.1,tcp:80'],
        'KUBE-EXTERNAL-IP-LOCAL': ['203.0.113.2,tcp:80'],
        'KUBE-LOAD-BALANCER': ['198.18.0.1,tcp:80'],
        'KUBE-LOAD-BALANCER-FW': ['198.18.0.1,tcp:80'],
        'KUBE-LOAD-BALANCER-SOURCE-CIDR': ['198.18.0.1,tcp:80,10.0.0.0/8', '198.18.0.1,tcp:80,192.0.2.0/24'],
        'KUBE-LOAD-BALANCER-SOURCE-IP': ['198.18.0.1,tcp:80,198.18.0.1'],
        'KUBE-IPVS-IPS': ['10.96.0.13', '10.96.0.14', '198.18.0.1', '203.0.113.1', '203.0.113.2'],
      },
    },
  ])('$name', ({ state, want }) => {
    expect(entriesOf(state)).toEqual(want);
  });

  it('an LB whose ranges exclude the node is kept from the node (KUBE-IPVS-OUT-FILTER)', () => {
    const state = makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.13', loadBalancerVIPs: ['198.18.0.1'], loadBalancerSourceRanges: ['10.0.0.0/8'] }), []]]);
    expect(ipsetEntries(state, planIpvs(state, opts), [NODE]).lbNoNodeAccess).toEqual([{ ip: '198.18.0.1', protocol: 'tcp', port: 80 }]);
  });
});

describe('set names', () => {
  it.each([
    ['KUBE-CLUSTER-IP', 'IPv4', 'KUBE-CLUSTER-IP'],
    ['KUBE-CLUSTER-IP', 'IPv6', 'KUBE-6-CLUSTER-IP'],
    ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'IPv6', 'KUBE-6-LOAD-BALANCER-SOURCE-CID'],
  ] as const)('%s (%s) → %s', (base, family, want) => {
    expect(setName(base, family)).toBe(want);
  });
  it('every name fits ipset’s 31 characters', () => {
    for (const n of [...allSetNames('IPv4'), ...allSetNames('IPv6')]) expect(n.length).toBeLessThanOrEqual(31);
  });
});

describe('renderIpsetRestore', () => {
  const one = new Map([['KUBE-CLUSTER-IP', new Set(['10.96.0.10,tcp:80'])]]);
  it('full: builds each set in a temporary set and swaps it in', () => {
    const text = renderIpsetRestore('IPv4', one);
    expect(text).toContain(
      [
        'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
        'create KUBE-TMP-01 hash:ip,port family inet hashsize 1024 maxelem 65536',
        'flush KUBE-TMP-01',
        'add KUBE-TMP-01 10.96.0.10,tcp:80',
        'swap KUBE-TMP-01 KUBE-CLUSTER-IP',
        'destroy KUBE-TMP-01',
      ].join('\n'),
    );
    expect(text).toContain('create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n');
    expect(text.split('\n').filter((l) => l.startsWith('swap ')).length).toBe(17);
  });
  it('partial: only what changed; nothing when nothing changed', () => {
    const next = new Map([['KUBE-CLUSTER-IP', new Set(['10.96.0.11,tcp:80'])]]);
    expect(renderIpsetRestore('IPv6', next, one)).toBe('del KUBE-6-CLUSTER-IP 10.96.0.10,tcp:80\nadd KUBE-6-CLUSTER-IP 10.96.0.11,tcp:80\n');
    expect(renderIpsetRestore('IPv4', one, one)).toBe('');
  });
});
