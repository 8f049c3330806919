// libnftables in-process (native/libnftables.ts through system/nft.ts), in a namespace of this test:
// a transaction is committed, a refused one reports nft's failing line and command as the nft
// command does (NftError), a --check commits nothing, and the state seen by the nft command
// afterwards is what was applied.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const CHILD = new URL('./support/libnftables-child.ts', import.meta.url).pathname;

describeWith('libnftables in-process runner on the real kernel', ['root'], () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('libnft');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('commits, reports the failing line and command, and --check commits nothing', async () => {
    const inputs = [
      { tx: 'add table ip kube-proxy\nadd set ip kube-proxy cluster-ips { type ipv4_addr; }\nadd element ip kube-proxy cluster-ips { 10.96.0.1 }\n' },
      { tx: 'add element ip kube-proxy cluster-ips { 10.96.0.2 }\nadd rule ip kube-proxy no-such-chain drop\n' },
      { tx: 'add element ip kube-proxy cluster-ips { 10.96.0.3 }\n', check: true },
      { tx: 'add element ip kube-proxy cluster-ips { 10.96.0.4 }\n' },
    ];
    const r = await execIn(ns, process.execPath, ['--import', 'tsx', CHILD], JSON.stringify(inputs));
    const out = JSON.parse(r.stdout) as Array<{ ok: boolean; line?: number; command?: string; detail?: string }> | { unavailable: string };
    if (!Array.isArray(out)) throw new Error(`libnftables unavailable on this machine: ${out.unavailable}`);
    expect(out[0]).toEqual({ ok: true });
    expect(out[1]).toMatchObject({ ok: false, line: 2, command: 'add rule ip kube-proxy no-such-chain drop' });
    expect(out[1]?.detail).toMatch(/No such file or directory/);
    expect(out[2]).toEqual({ ok: true });
    expect(out[3]).toEqual({ ok: true });
    const listed = (await execIn(ns, 'nft', ['list', 'set', 'ip', 'kube-proxy', 'cluster-ips'])).stdout;
    expect(listed).toContain('10.96.0.1');
    expect(listed).toContain('10.96.0.4');
    // The refused transaction is atomic (its element is not there), the checked one not committed.
    expect(listed).not.toContain('10.96.0.2');
    expect(listed).not.toContain('10.96.0.3');
  });
});
