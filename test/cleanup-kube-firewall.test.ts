// --cleanup and filter KUBE-FIREWALL (issue 13), the real binary in a namespace of its own: the
// chain our iptables mode writes (the "block incoming localnet connections" rule, jumped to from
// INPUT and OUTPUT) goes when it is ours alone and no kubelet manages iptables; with a kubelet's
// canary, or a rule that is not ours in it, it stays. Each case logs what it did and why.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { usePrivateXtablesLock } from './support/daemon.ts';
import { createNamespace, deleteAllNamespaces, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const BIN = fileURLToPath(new URL('../bin/kube-proxy-ts.js', import.meta.url));
const OURS = '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP';
const KUBELET_MARK = '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP';

describeWith('--cleanup and KUBE-FIREWALL', ['root', 'iptables'], () => {
  let ns: string;
  let restoreLock: (() => void) | undefined;
  beforeAll(async () => {
    // Other runs' legacy restores elsewhere on the machine hold /run/xtables.lock; ours need not wait.
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('kfw');
  });
  afterAll(async () => {
    await deleteAllNamespaces();
    restoreLock?.();
  });

  async function program(extra: string[], canary: boolean): Promise<void> {
    const filter = ['*filter', ':KUBE-FIREWALL - [0:0]', ...(canary ? [':KUBE-KUBELET-CANARY - [0:0]'] : []), OURS, ...extra, '-I INPUT 1 -j KUBE-FIREWALL', '-I OUTPUT 1 -j KUBE-FIREWALL', 'COMMIT'];
    const others = canary ? ['*mangle', ':KUBE-KUBELET-CANARY - [0:0]', 'COMMIT', '*nat', ':KUBE-KUBELET-CANARY - [0:0]', 'COMMIT'] : [];
    const r = await execIn(ns, 'iptables-restore', ['--noflush'], `${[...filter, ...others].join('\n')}\n`);
    expect(r.stderr).toBe('');
  }

  async function cleanup(): Promise<{ saved: string; log: string }> {
    const r = await execIn(ns, process.execPath, [BIN, '--cleanup']);
    expect(r.stdout + r.stderr).not.toContain('cleanup failed');
    const saved = (await execIn(ns, 'iptables-save', ['-t', 'filter'])).stdout;
    return { saved, log: r.stdout + r.stderr };
  }

  it('removes it, and the INPUT/OUTPUT jumps, when it holds only our rule and no kubelet is there', async () => {
    await program([], false);
    const { saved, log } = await cleanup();
    expect(saved).not.toContain('KUBE-FIREWALL');
    expect(log).toMatch(/cleanup: KUBE-FIREWALL removed.*no KUBE-KUBELET-CANARY|no KUBE-KUBELET-CANARY.*cleanup: KUBE-FIREWALL removed/);
  });

  it('keeps it for a kubelet that manages iptables (KUBE-KUBELET-CANARY)', async () => {
    await program([], true);
    const { saved, log } = await cleanup();
    expect(saved).toContain('-A INPUT -j KUBE-FIREWALL');
    expect(saved).toContain('block incoming localnet connections');
    expect(log).toContain('cleanup: KUBE-FIREWALL kept');
    expect(log).toContain('KUBE-KUBELET-CANARY exists');
    // Remove the kubelet's state for the next case.
    await execIn(ns, 'iptables', ['-F']);
    for (const t of ['filter', 'mangle', 'nat']) await execIn(ns, 'iptables', ['-t', t, '-X']);
  });

  it('keeps it when it holds a rule that is not ours', async () => {
    await program([KUBELET_MARK], false);
    const { saved, log } = await cleanup();
    expect(saved).toContain('dropping marked packets');
    expect(saved).toContain('-A OUTPUT -j KUBE-FIREWALL');
    expect(log).toContain('holds rules that are not ours');
  });
});
