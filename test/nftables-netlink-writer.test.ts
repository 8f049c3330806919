// The nf_tables netlink writer against the real kernel, in namespaces of this test: generated
// Services (fast-check, both families, every feature) rendered by the real renderer, a full sync
// applied with `nft -f` in two namespaces, then partial syncs applied through our netlink batch in
// one (nft only where the compiler declines) and with `nft -f` in the other: `nft list table`
// must print the same in both. A refused batch names its transaction line and commits nothing.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { svcGen, transactions } from './support/nft-services.ts';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const CHILD = new URL('./support/nft-netlink-child.ts', import.meta.url).pathname;

type Result = { ok: boolean; via?: string; line?: number; command?: string; detail?: string };

describeWith('nf_tables netlink writer on the real kernel', ['root'], () => {
  let a = '';
  let b = '';
  beforeAll(async () => {
    a = await createNamespace('nlw-a');
    b = await createNamespace('nlw-b');
  });
  afterAll(async () => {
    await deleteNamespace(a);
    await deleteNamespace(b);
  });

  const list = async (ns: string, fam: string): Promise<string> => (await execIn(ns, 'nft', ['list', 'table', fam, 'kube-proxy'])).stdout;

  for (const family of ['IPv4', 'IPv6'] as const) {
    const fam = family === 'IPv6' ? 'ip6' : 'ip';
    const v6 = family === 'IPv6';
    it(`${family}: partial syncs through netlink leave the table nft -f leaves`, async () => {
      let viaNetlink = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(svcGen(v6), { minLength: 2, maxLength: 5 }),
          fc.array(fc.tuple(fc.nat(6), fc.option(svcGen(v6), { freq: 4 })), { minLength: 3, maxLength: 6 }),
          async (initial, steps) => {
            const txs = transactions(family, initial, [[0, null], ...steps]);
            for (const ns of [a, b]) await execIn(ns, 'nft', ['flush', 'ruleset']);
            const [full, ...partials] = txs;
            for (const ns of [a, b]) await execIn(ns, 'nft', ['-f', '-'], full);
            const r = await execIn(a, process.execPath, ['--import', 'tsx', CHILD], JSON.stringify(partials.map((tx) => ({ tx, family: fam }))));
            const results = JSON.parse(r.stdout) as Result[];
            expect(results.filter((x) => !x.ok)).toEqual([]);
            viaNetlink += results.filter((x) => x.via === 'netlink').length;
            for (const tx of partials) await execIn(b, 'nft', ['-f', '-'], tx);
            expect(await list(a, fam)).toBe(await list(b, fam));
          },
        ),
        { numRuns: 4, seed: v6 ? 6 : 4 },
      );
      expect(viaNetlink).toBeGreaterThan(0);
    }, 240_000);
  }

  it('a refused batch names the line that produced it and commits nothing', async () => {
    await execIn(a, 'nft', ['flush', 'ruleset']);
    await execIn(a, 'nft', ['-f', '-'], 'add table ip kube-proxy\nadd set ip kube-proxy cluster-ips { type ipv4_addr ; }\n');
    const tx = [
      'add element ip kube-proxy cluster-ips { 172.30.0.1 }',
      'add chain ip kube-proxy service-X',
      'add rule ip kube-proxy service-X goto no-such-chain',
      'add element ip kube-proxy cluster-ips { 172.30.0.2 }',
    ].join('\n') + '\n';
    const r = await execIn(a, process.execPath, ['--import', 'tsx', CHILD], JSON.stringify([{ tx, family: 'ip' }]));
    const [res] = JSON.parse(r.stdout) as Result[];
    expect(res).toMatchObject({ ok: false, line: 3, command: 'add rule ip kube-proxy service-X goto no-such-chain' });
    expect(res?.detail).toMatch(/ENOENT/);
    const table = await list(a, 'ip');
    expect(table).not.toContain('172.30.0.1');
    expect(table).not.toContain('service-X');
  }, 60_000);
});
