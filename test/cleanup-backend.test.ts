// --cleanup honours --iptables-backend: with `legacy` or `nft` only that back-end's KUBE-* chains
// go (an operator cleaning up after a legacy-mode kube-proxy must not lose what something else
// keeps in nft, and the reverse); with `auto` both. The real daemon binary, in a namespace.
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const BIN = fileURLToPath(new URL('../bin/kube-proxy-ts.js', import.meta.url));

/** Our chains (KUBE-* but kubelet's KUBE-FIREWALL) in one back-end's nat and filter tables. */
async function kubeChains(ns: string, backend: 'legacy' | 'nft'): Promise<string[]> {
  const saved = (await execIn(ns, `iptables-${backend}-save`, [])).stdout;
  return saved.split('\n').filter((l) => /^:KUBE-/.test(l) && !l.startsWith(':KUBE-FIREWALL ')).map((l) => l.split(' ')[0] ?? '');
}

describeWith('--cleanup and --iptables-backend', ['root', 'iptables'], () => {
  let ns = '';
  beforeEach(async () => {
    ns = await createNamespace('f-cleanbe');
    for (const backend of ['legacy', 'nft'] as const) {
      const ipt = `iptables-${backend}`;
      await execIn(ns, ipt, ['-t', 'nat', '-N', 'KUBE-SERVICES']);
      await execIn(ns, ipt, ['-t', 'nat', '-I', 'PREROUTING', '1', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES']);
      await execIn(ns, ipt, ['-t', 'filter', '-N', 'KUBE-FORWARD']);
    }
  });
  afterEach(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it.each([
    ['legacy', [], [':KUBE-SERVICES', ':KUBE-FORWARD']],
    ['nft', [':KUBE-SERVICES', ':KUBE-FORWARD'], []],
    ['auto', [], []],
  ] as const)('--iptables-backend=%s', async (backend, legacyLeft, nftLeft) => {
    await execIn(ns, process.execPath, [BIN, '--cleanup', `--iptables-backend=${backend}`]);
    expect((await kubeChains(ns, 'legacy')).sort()).toEqual([...legacyLeft].sort());
    expect((await kubeChains(ns, 'nft')).sort()).toEqual([...nftLeft].sort());
  });
});
