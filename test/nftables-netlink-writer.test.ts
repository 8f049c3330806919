// The nf_tables netlink writer against the real kernel, in namespaces of this test: generated
// Services (fast-check, both families, every feature) rendered by the real renderer, a full sync
// applied with `nft -f` in two namespaces, then partial syncs applied through our netlink batch in
// one (nft only where the compiler declines) and with `nft -f` in the other: `nft list table`
// must print the same in both. A refused batch names its transaction line and commits nothing.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Endpoint, IPFamily, Protocol, ServicePort } from '../src/model/types.ts';
import { renderTransaction, type NftMemo } from '../src/backends/nftables/render.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { ep, makeState, svcPort } from '../src/backends/iptables/testing/fixtures.ts';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const CHILD = new URL('./support/nft-netlink-child.ts', import.meta.url).pathname;
type Result = { ok: boolean; via?: string; line?: number; command?: string; detail?: string };

const port = fc.integer({ min: 1, max: 65535 });
const octet = fc.integer({ min: 1, max: 254 });
const addr = (v6: boolean): fc.Arbitrary<string> => (v6 ? octet.map((o) => `fd00:10::${o.toString(16)}`) : octet.map((o) => `10.180.0.${o}`));
const range = (v6: boolean): fc.Arbitrary<string> => (v6 ? fc.constantFrom('2001:db8::/64', '2001:db8:1::5/128', '2001:db8:8000::/33') : fc.constantFrom('203.0.113.0/25', '198.51.100.7/32', '192.168.0.0/16', '100.64.0.0/10'));
const svcGen = (v6: boolean) => fc.record({
  protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'), port, nodePort: fc.boolean(), external: fc.boolean(), lb: fc.boolean(),
  ranges: fc.array(range(v6), { maxLength: 2 }), etp: fc.boolean(), itp: fc.boolean(), affinity: fc.boolean(),
  eps: fc.array(fc.record({ ip: addr(v6), port, local: fc.boolean(), ready: fc.boolean() }), { maxLength: 4 }),
});
type Svc = typeof svcGen extends (v6: boolean) => fc.Arbitrary<infer T> ? T : never;

function build(family: IPFamily, s: Svc, i: number): readonly [ServicePort, readonly Endpoint[]] {
  const v6 = family === 'IPv6';
  const sp = svcPort(`ns${i}`, `svc${i}`, 'p', {
    family, protocol: s.protocol, clusterIP: v6 ? `fd00:10:96::${(i + 1).toString(16)}` : `172.30.1.${i + 1}`, port: s.port,
    nodePort: s.nodePort ? 30000 + i : 0, externalIPs: s.external ? [v6 ? `2001:db8:e::${i + 1}` : `192.168.99.${i + 1}`] : [],
    loadBalancerVIPs: s.lb ? [v6 ? `2001:db8:f::${i + 1}` : `5.6.7.${i + 1}`] : [], loadBalancerSourceRanges: s.ranges,
    externalPolicyLocal: s.etp, internalPolicyLocal: s.itp,
    sessionAffinity: s.affinity ? { type: 'ClientIP', timeoutSeconds: 10800 } : { type: 'None', timeoutSeconds: 0 },
  });
  const seen = new Set<string>();
  const eps = s.eps.filter((e) => !seen.has(`${e.ip}:${e.port}`) && seen.add(`${e.ip}:${e.port}`))
    .map((e) => ep(e.ip, e.port, { isLocal: e.local, ready: e.ready, serving: e.ready }));
  return [sp, eps];
}

/** The full sync, then partial syncs of each step (endpoints changed, service added or removed). */
function transactions(family: IPFamily, initial: readonly Svc[], steps: readonly (readonly [number, Svc | null])[]): string[] {
  const opts = upstreamNftOptions(family);
  const svcs = new Map<number, Svc>(initial.map((s, i) => [i, s]));
  let memo: NftMemo | undefined;
  const out: string[] = [];
  steps.forEach(([target, next], k) => {
    const changed = new Set<string>();
    if (k > 0) {
      const prev = svcs.get(target);
      if (next === null) svcs.delete(target);
      else svcs.set(target, next);
      if (prev !== undefined || next !== null) changed.add(build(family, (next ?? prev) as Svc, target)[0].name);
    }
    const state = makeState(family, [...svcs].map(([i, s]) => build(family, s, i)), { full: k === 0, changedServices: changed, changedEndpoints: changed });
    const r = renderTransaction({ state, opts, memo, nowMs: k * 2000, recreateBaseChains: k === 0 });
    memo = r.memo;
    if (r.deferredDeletes !== '') out.push(r.deferredDeletes);
    if (r.transaction !== '') out.push(r.transaction);
  });
  return out;
}

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
