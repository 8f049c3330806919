// --init-only through the real entry point inside a namespace of our own: the privileged
// settings are made (per-namespace sysctls: conntrack timeouts, route_localnet), nothing is
// programmed, no API server is needed, and the process exits 0, as upstream's init container does.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDaemonOnce, usePrivateXtablesLock } from './support/daemon.ts';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

describeWith('--init-only', ['root', 'iptables'], () => {
  let ns = '';
  let restoreLock: (() => void) | undefined;
  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('f-init');
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
    restoreLock?.();
  });

  const sysctl = async (key: string): Promise<string> => (await execIn(ns, 'sysctl', ['-n', key])).stdout.trim();

  it('sets the conntrack timeouts and route_localnet, programs nothing, and exits 0 without an API server', async () => {
    await execIn(ns, 'sysctl', ['-q', '-w', 'net.ipv4.conf.all.route_localnet=0']);
    await execIn(ns, 'sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_tcp_timeout_established=432000']);
    // No --kubeconfig, --master or --manifests: a normal start would need the in-cluster config.
    const r = await runDaemonOnce(ns, ['--init-only', '--hostname-override', 'node-f', '--conntrack-tcp-timeout-established=2h']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('System initialized and --init-only specified');
    expect(await sysctl('net.ipv4.conf.all.route_localnet')).toBe('1');
    expect(await sysctl('net.netfilter.nf_conntrack_tcp_timeout_established')).toBe('7200');
    for (const save of ['iptables-nft-save', 'iptables-legacy-save']) {
      expect((await execIn(ns, save, [])).stdout, save).not.toMatch(/KUBE-/);
    }
  });

  it('refuses to be combined with --cleanup', async () => {
    const r = await runDaemonOnce(ns, ['--init-only', '--cleanup', '--hostname-override', 'node-f']);
    expect(r.code).toBe(1);
    expect(r.output).toContain('--init-only: cannot be combined with --cleanup');
  });
});
