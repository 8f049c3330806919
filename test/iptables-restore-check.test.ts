// Fuzzed cluster states rendered by the pure renderer and committed with the real
// `iptables-restore --noflush` in throw-away namespaces, on both back-ends. Each case is a
// sequence of states: the first is a full sync, the rest partial syncs (KEP-3453) in one
// namespace, and the resulting KUBE-* rules must equal a full sync of the same state in another
// namespace. This is how kubernetes/kubernetes#121362 ("Chain KUBE-SVC-… does not exist" after a
// partial restore) would show up.
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../src/backends/iptables/options.ts';
import { renderRules, type RenderMemo } from '../src/backends/iptables/render.ts';
import { ep, svcPort } from '../src/backends/common/testing/fixtures.ts';
import type { Endpoint, ProxyState, ServicePort, ServicePortName } from '../src/model/types.ts';
import { createIptables, savedChains, type Iptables, type XtablesBackend } from '../src/system/iptables.ts';
import { createNamespace, deleteAllNamespaces, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const opts: RenderOptions = {
  ...DEFAULT_RENDER_OPTIONS,
  masqueradeMark: '0x00004000',
  localDetector: { ifLocal: '-s 10.244.0.0/16', ifNotLocal: '! -s 10.244.0.0/16' },
  nodeIPs: ['192.0.2.11'],
  localAddresses: ['127.0.0.1', '192.0.2.11'],
  randomFully: true,
};

const arbEndpoint = (svcIdx: number): fc.Arbitrary<Endpoint> =>
  fc
    .record({
      host: fc.integer({ min: 2, max: 250 }),
      port: fc.constantFrom(80, 8080),
      ready: fc.boolean(),
      serving: fc.boolean(),
      terminating: fc.boolean(),
      isLocal: fc.boolean(),
    })
    .map(({ host, port, ...e }) => ep(`10.244.${(svcIdx % 2) + 1}.${host}`, port, { ...e, nodeName: e.isLocal ? 'test-node' : 'other' }));

const arbService = (idx: number): fc.Arbitrary<readonly [ServicePort, readonly Endpoint[]]> =>
  fc
    .record({
      protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
      port: fc.constantFrom(53, 80, 443),
      nodePort: fc.option(fc.integer({ min: 30000, max: 32767 }), { nil: 0 }),
      externalIPs: fc.subarray(['203.0.113.5', '203.0.113.6']),
      loadBalancerVIPs: fc.subarray(['198.51.100.10']),
      loadBalancerSourceRanges: fc.subarray(['192.0.2.0/24', '203.0.113.0/25']),
      affinity: fc.boolean(),
      externalPolicyLocal: fc.boolean(),
      internalPolicyLocal: fc.boolean(),
      endpoints: fc.uniqueArray(arbEndpoint(idx), { maxLength: 4, selector: (e) => `${e.ip}:${e.port}` }),
    })
    .map((r) => {
      const s = svcPort(`ns${idx % 3}`, `svc${idx}`, idx % 2 === 0 ? 'p' : '', {
        clusterIP: `10.96.${idx}.1`,
        protocol: r.protocol,
        port: r.port,
        nodePort: r.nodePort === 0 ? 0 : r.nodePort + idx,
        externalIPs: r.externalIPs,
        loadBalancerVIPs: r.loadBalancerVIPs,
        loadBalancerSourceRanges: r.loadBalancerSourceRanges,
        sessionAffinity: r.affinity ? { type: 'ClientIP', timeoutSeconds: 10800 } : { type: 'None', timeoutSeconds: 0 },
        externalPolicyLocal: r.externalPolicyLocal,
        internalPolicyLocal: r.internalPolicyLocal,
      });
      return [s, r.endpoints] as const;
    });

type Entries = ReadonlyMap<ServicePortName, readonly [ServicePort, readonly Endpoint[]]>;

const SERVICES = 8;

/**
 * Per service index, three variants with the same name: A; B with other service fields but A's
 * endpoints (same chains, different rules: a partial sync must still rewrite them); C with A's
 * endpoints' readiness flipped. Each step picks absent/A/B/C per index, so steps differ a little.
 */
const arbPool = fc.tuple(
  ...Array.from({ length: SERVICES }, (_, i) =>
    fc.tuple(arbService(i), arbService(i)).map(([a, b]) => [
      a,
      [b[0], a[1]] as const,
      [a[0], a[1].map((e) => ({ ...e, ready: !e.ready }))] as const,
    ]),
  ),
);

const arbSteps: fc.Arbitrary<Entries[]> = arbPool.chain((pool) =>
  fc
    .array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: SERVICES, maxLength: SERVICES }), { minLength: 1, maxLength: 5 })
    .map((steps) =>
      steps.map((choice) => {
        const m = new Map<ServicePortName, readonly [ServicePort, readonly Endpoint[]]>();
        choice.forEach((c, i) => {
          const v = c === 0 ? undefined : pool[i]?.[c - 1];
          if (v) m.set(v[0].name, v);
        });
        return m;
      }),
    ),
);

function toState(entries: Entries, previous: Entries | undefined): ProxyState {
  const changed = new Set<ServicePortName>();
  for (const name of new Set([...entries.keys(), ...(previous?.keys() ?? [])])) {
    if (JSON.stringify(entries.get(name)) !== JSON.stringify(previous?.get(name))) changed.add(name);
  }
  return {
    family: 'IPv4',
    services: new Map([...entries].map(([n, [s]]) => [n, s])),
    endpoints: new Map([...entries].map(([n, [, e]]) => [n, e])),
    node: { name: 'test-node', labels: {}, zone: '', podCIDRs: [], eligible: true },
    changedServices: changed,
    changedEndpoints: changed,
    removedEndpoints: new Map(),
    full: previous === undefined,
  };
}

/** Our rules as iptables-save prints them, chain by chain (counters stripped). */
async function kubeRules(ipt: Iptables): Promise<string[]> {
  const out: string[] = [];
  for (const t of ['filter', 'nat'] as const) {
    for (const l of (await ipt.save(t)).split('\n')) {
      if (l.startsWith(':KUBE-') || l.startsWith('-A KUBE-')) out.push(`${t} ${l.replace(/ \[\d+:\d+\]$/, '')}`);
    }
  }
  return out.sort();
}

for (const backend of ['legacy', 'nft'] as const satisfies readonly XtablesBackend[]) {
  describeWith(`rendered rules commit with iptables-restore (${backend})`, ['root', 'iptables'], () => {
    afterAll(async () => {
      await deleteAllNamespaces();
    });

    it('every full and partial payload commits, and partial syncs end where a full sync does', async () => {
      const partial = createIptables(nsExec(await createNamespace(`fuzz-p-${backend}`)), 'IPv4', backend);
      const full = createIptables(nsExec(await createNamespace(`fuzz-f-${backend}`)), 'IPv4', backend);
      await fc.assert(
        fc.asyncProperty(arbSteps, async (steps) => {
          let memo: RenderMemo | undefined;
          let previous: Entries | undefined;
          for (const entries of steps) {
            const state = toState(entries, previous);
            const existing = state.full ? savedChains(await partial.save('nat')) : undefined;
            const p = renderRules(state, existing ? { ...opts, existingNatChains: existing } : opts, memo);
            await partial.restore(p.payload.text);
            memo = p.memo;
            previous = entries;
            const f = renderRules({ ...state, full: true }, { ...opts, existingNatChains: savedChains(await full.save('nat')) });
            await full.restore(f.payload.text);
            expect(await kubeRules(partial)).toEqual(await kubeRules(full));
          }
        }),
        { numRuns: 15 },
      );
    }, 600_000);
  });
}
