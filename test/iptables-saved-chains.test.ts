// Iptables.chains(table) scans `iptables-save -t TABLE` as it streams in (src/system/saved-chains.ts)
// instead of holding the listing: checked against the whole listing on a real table large enough
// (5,000 chains with rules, ~700 KB) that the pipe delivers it in many chunks and lines straddle
// them. Real iptables in a throw-away namespace, both back-ends.
import { afterAll, expect, it } from 'vitest';
import { createIptables, savedChains, type XtablesBackend } from '../src/system/iptables.ts';
import { createNamespace, deleteAllNamespaces, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

afterAll(deleteAllNamespaces);

function payload(n: number): string {
  const lines = ['*nat'];
  for (let i = 0; i < n; i++) lines.push(`:KUBE-SEP-${String(i).padStart(16, 'X')} - [0:0]`);
  for (let i = 0; i < n; i++) {
    lines.push(`-A KUBE-SEP-${String(i).padStart(16, 'X')} -m comment --comment "ns${i}/svc:p80 long enough to cross chunks" -j RETURN`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

for (const backend of ['legacy', 'nft'] as const satisfies readonly XtablesBackend[]) {
  describeWith(`Iptables.chains on a large table (${backend})`, ['root', 'iptables'], () => {
    it('lists every chain of the table, as the whole listing does', async () => {
      const ns = await createNamespace(`chains-${backend}`);
      const ipt = createIptables(nsExec(ns), 'IPv4', backend);
      await ipt.restore(payload(5_000));
      const whole = await ipt.save('nat');
      expect(whole.length).toBeGreaterThan(500_000);
      const got = await ipt.chains('nat');
      expect(got.filter((c) => c.startsWith('KUBE-SEP-'))).toHaveLength(5_000);
      expect(got).toEqual(savedChains(whole));
      expect(got).toEqual(expect.arrayContaining(['PREROUTING', 'POSTROUTING', `KUBE-SEP-${'4999'.padStart(16, 'X')}`]));
    }, 120_000);
  });
}
