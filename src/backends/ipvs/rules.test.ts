import { describe, expect, it } from 'vitest';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { ipsetEntries } from './ipsets.ts';
import { planIpvs } from './plan.ts';
import { ipvsJumps, renderIpvsRules } from './rules.ts';
import type { IpvsRulesOptions } from './rules.ts';

const NODE = '192.0.2.11';
const base: IpvsRulesOptions = { family: 'IPv4', masqueradeMark: '0x00004000', masqueradeAll: false, localDetector: null, randomFully: false };

function render(state: ReturnType<typeof makeState>, o: Partial<IpvsRulesOptions> = {}): string {
  const plan = planIpvs(state, { scheduler: 'rr', nodePortIPs: [NODE], localAddresses: new Set([NODE]) });
  return renderIpvsRules(ipsetEntries(state, plan, [NODE]), { ...base, ...o });
}

const clusterOnly = makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.10' }), [ep('10.244.1.5', 8080)]]]);

describe('renderIpvsRules', () => {
  it('ClusterIP only: the upstream ruleset, set rules only for non-empty sets (golden)', () => {
    expect(render(clusterOnly)).toBe(`*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
COMMIT
`);
  });

  it.each([
    ['masquerade-all marks all VIP traffic', { masqueradeAll: true }, '-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ'],
    ['a local detector marks off-cluster traffic', { localDetector: { ifLocal: '-s 10.244.0.0/16', ifNotLocal: '! -s 10.244.0.0/16' } }, 'KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ'],
    ['--random-fully when supported', { randomFully: true }, '-j MASQUERADE --random-fully'],
    ['IPv6 returns ::1 and uses KUBE-6- sets', { family: 'IPv6' as const }, '-A KUBE-SERVICES -s ::1/128 -j RETURN'],
  ])('%s', (_n, o, line) => {
    expect(render(clusterOnly, o)).toContain(line);
  });

  it('NodePort, hairpin, LB with source ranges and eTP Local: set-driven rules in upstream order', () => {
    const text = render(makeState('IPv4', [
      [svcPort('ns', 'a', '', { clusterIP: '10.96.0.10', nodePort: 30080, externalPolicyLocal: true }), [ep('10.244.1.5', 8080, { isLocal: true })]],
      [svcPort('ns', 'b', '', { clusterIP: '10.96.0.11', loadBalancerVIPs: ['198.18.0.1'], loadBalancerSourceRanges: ['10.0.0.0/8'] }), []],
    ]));
    const lines = text.split('\n');
    const at = (s: string): number => lines.findIndex((l) => l.includes(s));
    expect(at('KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE')).toBeGreaterThan(0);
    expect(at('-A KUBE-NODE-PORT -p tcp')).toBeLessThan(at('--match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ'));
    expect(lines[at('-A KUBE-NODE-PORT -p tcp')]).toContain('KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN');
    expect(at('--match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL')).toBeGreaterThan(0);
    expect(at('-A KUBE-IPVS-OUT-FILTER -s 198.18.0.1 -m ipvs --vaddr 198.18.0.1 --vproto tcp --vport 80 -j DROP')).toBeGreaterThan(0);
    // The ACCEPTs close KUBE-SERVICES, after the NodePort jump.
    expect(at('KUBE-LOAD-BALANCER dst,dst -j ACCEPT')).toBeGreaterThan(at('--dst-type LOCAL -j KUBE-NODE-PORT'));
  });
});

describe('ipvsJumps', () => {
  it('jumps from every built-in chain upstream hooks', () => {
    expect(ipvsJumps().map((j) => `${j.table}/${j.chain}->${j.target}`)).toEqual([
      'nat/OUTPUT->KUBE-SERVICES', 'nat/PREROUTING->KUBE-SERVICES', 'nat/POSTROUTING->KUBE-POSTROUTING', 'filter/FORWARD->KUBE-FORWARD',
      'filter/INPUT->KUBE-NODE-PORT', 'filter/INPUT->KUBE-PROXY-FIREWALL', 'filter/FORWARD->KUBE-PROXY-FIREWALL', 'filter/INPUT->KUBE-IPVS-FILTER',
      'filter/OUTPUT->KUBE-IPVS-OUT-FILTER',
    ]);
  });
});
