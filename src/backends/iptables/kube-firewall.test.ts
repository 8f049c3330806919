import { describe, expect, it } from 'vitest';
import { planKubeFirewallCleanup } from './kube-firewall.ts';

// As iptables-nft-save prints our chain (render-assemble.ts writes the same rule in another order).
const OURS = '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP';
const KUBELET_MARK = '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP';

const saved = (...rules: string[]): string =>
  ['*filter', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':KUBE-FIREWALL - [0:0]', '-A INPUT -j KUBE-FIREWALL', '-A OUTPUT -j KUBE-FIREWALL', '-A INPUT -j ACCEPT', ...rules, 'COMMIT', ''].join('\n');

describe('planKubeFirewallCleanup', () => {
  it.each([
    { name: 'only our rule, no kubelet: removed', text: saved(OURS), kubelet: false, verdict: 'remove' },
    { name: 'empty chain, no kubelet: removed', text: saved(), kubelet: false, verdict: 'remove' },
    { name: 'only our rule but a kubelet canary: kept', text: saved(OURS), kubelet: true, verdict: 'kept-kubelet' },
    { name: "an older kubelet's mark drop beside ours: kept", text: saved(OURS, KUBELET_MARK), kubelet: false, verdict: 'kept-foreign-rules' },
    { name: 'no chain at all', text: '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', kubelet: false, verdict: 'absent' },
  ] as const)('$name', ({ text, kubelet, verdict }) => {
    const plan = planKubeFirewallCleanup(text, kubelet);
    expect(plan.verdict).toBe(verdict);
    expect(plan.payload === '').toBe(verdict !== 'remove');
  });

  it('deletes the jumps by their saved text, then the chain, and nothing else (golden)', () => {
    expect(planKubeFirewallCleanup(saved(OURS), false).payload).toBe(
      ['*filter', '-D INPUT -j KUBE-FIREWALL', '-D OUTPUT -j KUBE-FIREWALL', ':KUBE-FIREWALL - [0:0]', '-X KUBE-FIREWALL', 'COMMIT', ''].join('\n'),
    );
  });
});
