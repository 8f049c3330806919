// Generated Services for the nftables netlink writer's tests (fast-check, either family, every
// feature our renderer has: NodePorts, externalIPs, LoadBalancer VIPs with source ranges, Local
// policies, ClientIP affinity, local and not-ready endpoints) and the transactions the real
// renderer writes for a full sync and then one change per step.
import fc from 'fast-check';
import type { Endpoint, IPFamily, Protocol, ServicePort } from '../../src/model/types.ts';
import { renderTransaction, type NftMemo } from '../../src/backends/nftables/render.ts';
import { upstreamNftOptions } from '../../src/backends/nftables/testing/fixtures.ts';
import { ep, makeState, svcPort } from '../../src/backends/iptables/testing/fixtures.ts';

const port = fc.integer({ min: 1, max: 65535 });
const octet = fc.integer({ min: 1, max: 254 });
const addr = (v6: boolean): fc.Arbitrary<string> => (v6 ? octet.map((o) => `fd00:10::${o.toString(16)}`) : octet.map((o) => `10.180.0.${o}`));
const range = (v6: boolean): fc.Arbitrary<string> => (v6 ? fc.constantFrom('2001:db8::/64', '2001:db8:1::5/128', '2001:db8:8000::/33') : fc.constantFrom('203.0.113.0/25', '198.51.100.7/32', '192.168.0.0/16', '100.64.0.0/10'));
export const svcGen = (v6: boolean) => fc.record({
  protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'), port, nodePort: fc.boolean(), external: fc.boolean(), lb: fc.boolean(),
  ranges: fc.array(range(v6), { maxLength: 2 }), etp: fc.boolean(), itp: fc.boolean(), affinity: fc.boolean(),
  eps: fc.array(fc.record({ ip: addr(v6), port, local: fc.boolean(), ready: fc.boolean() }), { maxLength: 4 }),
});
export type Svc = typeof svcGen extends (v6: boolean) => fc.Arbitrary<infer T> ? T : never;

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
export function transactions(family: IPFamily, initial: readonly Svc[], steps: readonly (readonly [number, Svc | null])[]): string[] {
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
