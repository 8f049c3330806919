// What one iptables drift check costs at scale (issue 15): a throw-away namespace
// (kpt-drift-<pid>-<backend>) gets the renderer's full ruleset for BENCH_SERVICES × BENCH_ENDPOINTS
// (default 10,000 × 10) through the real proxier, then the check's parts are timed: iptables-save of
// nat and filter, the comparison of both listings with what was recorded (expected-rules.ts), and
// for contrast `-S` of the fixed chains only (which cannot see a KUBE-SVC-/SEP- chain change). Peak
// RSS is sampled every 2 ms across save + compare, relative to the RSS just before. A probe, not a
// ratio bench: the machine is shared, so read the numbers as orders of magnitude.
// Run (root): `npx tsx bench/iptables-drift-probe.ts [legacy|nft]`.
import { execFileSync } from 'node:child_process';
import { createIptablesApplier } from '../src/backends/common/iptables-rules-applier.ts';
import { ExpectedRules } from '../src/backends/iptables/drift/expected-rules.ts';
import { kubeletJumps, requiredJumps } from '../src/backends/iptables/jumps.ts';
import { renderRules } from '../src/backends/iptables/render.ts';
import { upstreamOptions } from '../src/backends/iptables/testing/fixtures.ts';
import { bigState } from '../src/backends/iptables/testing/scale.ts';
import { exec as base } from '../src/system/exec.ts';
import { createIptables, type XtablesBackend } from '../src/system/iptables.ts';

const backend = (process.argv[2] ?? 'nft') as XtablesBackend;
const services = Number(process.env.BENCH_SERVICES ?? 10_000);
const endpoints = Number(process.env.BENCH_ENDPOINTS ?? 10);
const ns = `kpt-drift-${process.pid}-${backend}`;
execFileSync('ip', ['netns', 'add', ns]);
try {
  const exec: typeof base = (file, args, opts) => base('ip', ['netns', 'exec', ns, file, ...args], opts);
  const ipt = createIptables(exec, 'IPv4', backend);
  const applier = createIptablesApplier(ipt);
  const opts = upstreamOptions('IPv4', { nfacct: { localhostNodePortsAccepted: false, invalidDropped: false } });
  const state = bigState(services, endpoints, { full: true });
  const jumps = [...requiredJumps(), ...kubeletJumps()];
  await applier.ensureJumps(jumps);
  const expected = new ExpectedRules();
  expected.setJumps(jumps);
  const out = renderRules(state, opts, undefined);
  const rec = expected.recorder(true);
  const t0 = performance.now();
  await applier.restore({ *[Symbol.iterator]() { for (const c of out.payload.chunks) { rec.push(c); yield c; } } });
  rec.commit();
  const restoreMs = performance.now() - t0;
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const t1 = performance.now();
  const saved = new Map<string, string[]>();
  for (const t of expected.tables()) saved.set(t, [await ipt.save(t as 'nat' | 'filter')]);
  const t2 = performance.now();
  const differences = expected.compare(saved);
  const t3 = performance.now();
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const t4 = performance.now();
  for (const c of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) await ipt.listChain('nat', c);
  for (const c of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) await ipt.listChain('filter', c);
  const t5 = performance.now();
  const savedBytes = [...saved.values()].reduce((n, [s]) => n + (s?.length ?? 0), 0);
  console.log(JSON.stringify({
    backend, services, endpoints, chains: expected.chainCount, restoreMs: Math.round(restoreMs),
    saveMs: Math.round(t2 - t1), compareMs: Math.round(t3 - t2), savedMiB: +(savedBytes / 2 ** 20).toFixed(1),
    peakRssDeltaMiB: +((peak - rss0) / 2 ** 20).toFixed(1), fixedChainsDashS_ms: Math.round(t5 - t4), differences: differences.length,
  }));
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
