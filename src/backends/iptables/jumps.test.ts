import { describe, expect, it } from 'vitest';
import { argsToRestore, kubeletJumps, requiredJumps } from './jumps.ts';

describe('requiredJumps', () => {
  it('matches upstream iptablesJumpChains (order, args)', () => {
    const lines = requiredJumps().map((j) => `${j.table} ${j.chain} ${argsToRestore(j.args)}`);
    expect(lines).toEqual([
      'filter INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      'filter FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      'filter INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
      'filter FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'filter OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'filter FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      'filter INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      'filter OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      'filter FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      'nat OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'nat PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'nat POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]);
    expect(kubeletJumps().map((j) => argsToRestore(j.args))).toEqual(['-j KUBE-FIREWALL', '-j KUBE-FIREWALL']);
  });
});
