// Hostile Services (names at and past the length limits, odd characters and quotes, odd ports,
// addresses of the other family in the wrong slice, every feature at random) rendered as a full
// sync and then partial syncs; every transaction is checked with `nft --check -f -` and applied
// with `nft -f -` inside a namespace of this test. Zero may be rejected, and the kernel's chains
// must be those the in-memory fake table says.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Endpoint, IPFamily, Protocol, ServicePort } from '../src/model/types.ts';
import { renderTransaction, type NftMemo } from '../src/backends/nftables/render.ts';
import { FakeTable } from '../src/backends/nftables/testing/fake-table.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { ep, makeState, svcPort } from '../src/backends/iptables/testing/fixtures.ts';
import { createNft, type Nft } from '../src/system/nft.ts';
import { createNamespace, deleteNamespace, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { DAEMON_BIN } from './support/daemon.ts';

const EXAMPLE_MANIFESTS = fileURLToPath(new URL('../examples/manifests', import.meta.url));

const hostileChar = fc.constantFrom(' ', '"', '\\', "'", 'a', 'z', '0', '-', '.', ':', '/', '\n', 'é', '#', '{', ';', '*');
const hostileText = fc.oneof(fc.string({ unit: hostileChar, minLength: 1, maxLength: 70 }), fc.constant('a'.repeat(63)), fc.constant('svc'));
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join('.'));
const ipv6 = fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.nat(0xffff)).map(([a, b]) => `fd00:${a.toString(16)}::${b.toString(16)}`);
const anyIP = fc.oneof(ipv4, ipv6);
const port = fc.integer({ min: 1, max: 65535 });

const service = fc.record({
  ns: hostileText, name: hostileText, portName: fc.oneof(fc.constant(''), hostileText),
  protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'), port, nodePort: fc.oneof(fc.constant(0), port),
  externalIPs: fc.array(anyIP, { maxLength: 2 }), lbs: fc.array(anyIP, { maxLength: 2 }),
  ranges: fc.array(fc.oneof(ipv4.map((ip) => `${ip}/32`), ipv6.map((ip) => `${ip}/128`), fc.constant('192.168.0.0/16')), { maxLength: 2 }),
  etp: fc.boolean(), itp: fc.boolean(), affinity: fc.boolean(), timeout: fc.integer({ min: 1, max: 86400 }),
  eps: fc.array(fc.record({ ip: anyIP, port, local: fc.boolean(), ready: fc.boolean(), terminating: fc.boolean() }), { maxLength: 4 }),
});
type Gen = typeof service extends fc.Arbitrary<infer T> ? T : never;

function build(family: IPFamily, s: Gen, i: number): readonly [ServicePort, readonly Endpoint[]] {
  const clusterIP = family === 'IPv4' ? `172.30.${i >> 8}.${(i & 255) + 1}` : `fd00:10:96::${(i + 1).toString(16)}`;
  const sp = svcPort(`${s.ns}${i}`, s.name, s.portName, {
    family, protocol: s.protocol, clusterIP, port: s.port, nodePort: s.nodePort === 0 ? 0 : 30000 + i, externalIPs: s.externalIPs,
    loadBalancerVIPs: s.lbs, loadBalancerSourceRanges: s.ranges, externalPolicyLocal: s.etp, internalPolicyLocal: s.itp,
    sessionAffinity: s.affinity ? { type: 'ClientIP', timeoutSeconds: s.timeout } : { type: 'None', timeoutSeconds: 0 },
  });
  const eps = s.eps.map((e) => ep(e.ip, e.port, { isLocal: e.local, ready: e.ready, serving: e.ready || e.terminating, terminating: e.terminating }));
  return [sp, eps];
}

async function kernelChains(nft: Nft, family: 'ip' | 'ip6'): Promise<string[]> {
  return ((await nft.listObjects(family))?.chains ?? []).sort();
}

describeWith('nftables renderer fuzz against the kernel', ['root'], () => {
  let ns = '';
  let nft: Nft;
  beforeAll(async () => {
    ns = await createNamespace('nftfuzz');
    nft = createNft(nsExec(ns));
  });
  afterAll(async () => {
    if (ns !== '') await deleteNamespace(ns);
  });

  it('every full and partial transaction is accepted by nft --check and nft -f', { timeout: 240_000 }, async () => {
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<IPFamily>('IPv4', 'IPv6'), fc.array(service, { minLength: 1, maxLength: 5 }), fc.nat(), async (family, svcs, pick) => {
        const fam = family === 'IPv4' ? 'ip' : 'ip6';
        await nft.deleteTable(fam);
        const opts = upstreamNftOptions(family, { batchElements: pick % 2 === 0 });
        const fake = new FakeTable();
        const entries = svcs.map((s, i) => build(family, s, i));
        let memo: NftMemo | undefined;
        let now = 0;
        const step = async (tx: string): Promise<void> => {
          if (tx === '') return;
          try {
            await nft.check(tx);
            await nft.run(tx);
          } catch (err) {
            rejected++;
            throw err;
          }
          fake.apply(tx);
        };
        const sync = async (list: typeof entries, changed: readonly string[], full = false): Promise<void> => {
          const state = makeState(family, list, { full, changedServices: new Set(changed), changedEndpoints: new Set(changed) });
          const r = renderTransaction({ state, opts, memo, nowMs: now, recreateBaseChains: memo === undefined });
          memo = r.memo;
          await step(r.deferredDeletes);
          await step(r.transaction);
        };
        await sync(entries, [], true);
        // Partial: one service loses its endpoints, one is deleted, one gets new ones.
        const next = entries.slice(1).map(([s, eps], i) => (i === 0 ? ([s, []] as const) : ([s, [...eps, ep(family === 'IPv4' ? '10.9.9.9' : 'fd00::9', 9)]] as const)));
        await sync(next, next.map(([s]) => s.name));
        now += 2000;
        await sync(next, []);
        expect(await kernelChains(nft, fam)).toEqual([...fake.chains.keys()].sort());
      }),
      { numRuns: 40, endOnFailure: true },
    );
    expect(rejected).toBe(0);
  });

  it('--dry-run prints on stdout only nft input that nft --check accepts, logs on stderr', () => {
    const r = spawnSync(process.execPath, [DAEMON_BIN, '--manifests', EXAMPLE_MANIFESTS, '--hostname-override', 'node-a', '--proxy-mode', 'nftables', '--dry-run'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l !== '' && !/^(add|flush|delete) /.test(l))).toEqual([]);
    expect(r.stdout).toContain('add table ip kube-proxy { comment "rules for kube-proxy" ; }');
    expect(r.stderr).toContain('node IPs');
    return nft.check(r.stdout);
  });

  it('can fail: nft rejects a transaction naming a chain that does not exist', async () => {
    await nft.deleteTable('ip');
    const bad = 'add table ip kube-proxy\nadd rule ip kube-proxy nope-chain drop\n';
    await expect(nft.check(bad)).rejects.toMatchObject({ line: 2, command: 'add rule ip kube-proxy nope-chain drop' });
  });
});
