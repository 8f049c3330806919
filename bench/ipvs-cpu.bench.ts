// The ipvs proxier's own CPU cost at 10,000 Services × 10 endpoints, with the kernel in memory
// (testing/memory-applier.ts): a full sync from empty, a restart sync with everything programmed,
// and one endpoint change (p50/p99 over KPT_BENCH_CHANGES), each beside planIpvs alone over the
// whole state (what a partial sync cost before it became incremental). No netlink, no processes:
// the UML bench (ipvs.bench.ts) measures those. Run: `node bench/ipvs-cpu.bench.ts`.
import { performance } from 'node:perf_hooks';
import { ep, makeState, svcPort } from '../src/backends/common/testing/fixtures.ts';
import { planIpvs } from '../src/backends/ipvs/plan.ts';
import { IpvsProxier } from '../src/backends/ipvs/proxier.ts';
import { MemoryApplier } from '../src/backends/ipvs/testing/memory-applier.ts';
import type { Endpoint, ProxyState, ServicePort } from '../src/model/types.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';

const SERVICES = Number(process.env.KPT_BENCH_SERVICES ?? 10_000);
const EPS = 10;
const CHANGES = Number(process.env.KPT_BENCH_CHANGES ?? 200);
const ip = (base: number, i: number): string => `${base >> 8 & 255}.${(base & 255)}.${i >> 8 & 255}.${i & 255}`;
const svcs: [ServicePort, Endpoint[]][] = [];
for (let s = 0; s < SERVICES; s++) {
  const svc = svcPort('bench', `svc-${s}`, '', { clusterIP: `10.96.${s >> 8}.${s & 255}`, port: 80, ...(s % 10 === 0 ? { nodePort: 30000 + s / 10 } : {}) });
  svcs.push([svc, Array.from({ length: EPS }, (_, e) => ep(ip(0x0af4, s * EPS + e), 8080, { isLocal: e === 0 }))]);
}
const state = (over: Partial<ProxyState> = {}): ProxyState => makeState('IPv4', svcs, over);
const make = (applier: MemoryApplier): IpvsProxier =>
  new IpvsProxier({
    family: 'IPv4', applier, logger: recordingLogger(), scheduler: 'rr', excludeCIDRs: [], nodePortAddresses: [], now: () => 0,
    rulesOptions: () => ({ family: 'IPv4', masqueradeMark: '0x00004000', masqueradeAll: false, localDetector: null, randomFully: true }),
  });
const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

const applier = new MemoryApplier('IPv4', ['192.0.2.1']);
let p = make(applier);
const fromEmpty = await timed(() => p.sync(state()));
p = make(applier);
const restart = await timed(() => p.sync(state()));
const planAll = await timed(async () => planIpvs(state(), { scheduler: 'rr', nodePortIPs: ['192.0.2.1'], localAddresses: new Set(['192.0.2.1']) }));
const latencies: number[] = [];
for (let i = 0; i < CHANGES; i++) {
  const entry = svcs[(i * 7919) % SERVICES];
  if (!entry) continue;
  entry[1][1] = ep(`10.250.${i >> 8 & 255}.${i & 255}`, 8080);
  // The state is built before the clock starts: the tracker hands the proxier a ready snapshot.
  const s = state({ full: false, changedEndpoints: new Set([entry[0].name]) });
  latencies.push(await timed(() => p.sync(s)));
}
const f = (n: number): string => n.toFixed(2);
console.log(`ipvs proxier CPU, ${SERVICES} Services × ${EPS} endpoints, kernel in memory`);
console.table([
  { case: 'full sync from empty', ms: f(fromEmpty) },
  { case: 'restart, everything programmed (full)', ms: f(restart) },
  { case: 'planIpvs over every service (reference)', ms: f(planAll) },
  { case: `one endpoint change p50 (n=${latencies.length})`, ms: f(pct(latencies, 0.5)) },
  { case: 'one endpoint change p99', ms: f(pct(latencies, 0.99)) },
]);
