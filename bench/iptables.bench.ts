// B2/B3/B5 for --proxy-mode=iptables at 10,000 Services × 10 endpoints, both xtables back-ends
// (legacy, nft), side by side in one run, interleaved per round. Everything runs inside throw-away
// network namespaces named kpt-bench-<pid>-… (deleted at the end, on error and on SIGINT/SIGTERM):
// - full sync of our proxier (ClusterState snapshot → render → jumps/canaries → iptables-restore,
//   a child process in the namespace) vs the restore tool alone loading the same payload in a fresh
//   namespace, cold (empty tables) and warm (the same ruleset already loaded). Target ≤ 1.15×.
// - one endpoint's Ready flipping: partial payload size vs full (target ≤ 1%), and
//   change→programmed p50/p99 vs the restore tool alone applying the minimal delta (that
//   Service's chains only; target ≤ 1.1×), and vs the minimal *legal* delta (KUBE-SERVICES too,
//   as upstream rewrites it on every sync).
// - peak RSS of the proxier process (target ≤ 150 MiB).
// Run: `npm run bench -- iptables` (root; env BENCH_SERVICES, BENCH_ENDPOINTS, BENCH_ROUNDS,
// BENCH_CHANGES = changes per round per back-end, BENCH_BACKENDS=legacy,nft, BENCH_AGENT_FLAGS =
// extra Node flags for the proxier process, e.g. `--max-semi-space-size=2`: V8 grows the young
// generation to 128 MiB while the long-lived state is built, most of the peak RSS at 10k;
// BENCH_TS=1 runs the proxier from the .ts sources instead of compiled JS, bench/compiled.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOP_NAT_CHAINS } from '../src/backends/iptables/render-top.ts';
import { killAgents, startAgent as startSharedAgent, type Agent, type Reply } from './iptables-agent-client.ts';
import { fmtRange, median, percentile, table } from './stats.ts';

const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 10);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'legacy,nft').split(',') as ('legacy' | 'nft')[];
// The proxier process runs with the Node flags the image sets (Dockerfile NODE_OPTIONS);
// BENCH_AGENT_FLAGS='' measures Node's defaults instead.
const AGENT_FLAGS = (process.env.BENCH_AGENT_FLAGS ?? '--max-semi-space-size=2').split(' ').filter((f) => f !== '');
// BENCH_COMPARE_FLAGS='…' adds, per back-end, a second proxier run with those flags instead, in the
// same rounds (interleaved), so a flag's cost is read side by side and not across runs.
const COMPARE_FLAGS = process.env.BENCH_COMPARE_FLAGS?.split(' ').filter((f) => f !== '');
interface Variant { readonly key: string; readonly backend: 'legacy' | 'nft'; readonly flags: readonly string[] }
const VARIANTS: readonly Variant[] = BACKENDS.flatMap((b) => [
  { key: b, backend: b, flags: AGENT_FLAGS },
  ...(COMPARE_FLAGS === undefined ? [] : [{ key: `${b} [${COMPARE_FLAGS.join(' ') || 'no flags'}]`, backend: b, flags: COMPARE_FLAGS }]),
]);
const PREFIX = `kpt-bench-${process.pid}`;
const namespaces = new Set<string>();

function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why this machine cannot run the bench, or undefined. */
function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns, iptables-restore)';
  for (const b of BACKENDS) {
    try {
      sh('sh', ['-c', `command -v iptables-${b}-restore`]);
    } catch (err) {
      return `iptables-${b}-restore not installed (${String(err).split('\n')[0]})`;
    }
  }
  return undefined;
}

function createNs(tag: string): string {
  const ns = `${PREFIX}-${tag}`;
  sh('ip', ['netns', 'add', ns]);
  namespaces.add(ns);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

function deleteNs(ns: string): void {
  sh('ip', ['netns', 'del', ns]);
  namespaces.delete(ns);
}

/** Kill our agents (by PID) and delete every namespace this run created. */
function teardown(): void {
  // Each agent leads its own process group (detached), so its iptables-restore children go too.
  killAgents();
  for (const ns of [...namespaces]) {
    try {
      deleteNs(ns);
    } catch (err) {
      console.error(`could not delete namespace ${ns}: ${String(err)}`);
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    teardown();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

function startAgent(ns: string, backend: 'legacy' | 'nft', dir: string, flags: readonly string[] = AGENT_FLAGS): Agent {
  return startSharedAgent({ ns, backend, services: N, endpoints: E, dir, flags });
}

/**
 * The restore input the tool alone needs for this change: the nat chains of the changed Service
 * (declarations, rules, deletions), and with `legal` also KUBE-SERVICES, which upstream's layout
 * rewrites on every sync (`-A` order inside it is the dispatch order).
 */
function minimalDelta(payload: string, legal: boolean): string {
  const nat = payload.slice(payload.indexOf('*nat\n'));
  const top = new Set<string>(TOP_NAT_CHAINS);
  const keep = (chain: string): boolean => !top.has(chain) || (legal && chain === 'KUBE-SERVICES');
  const out = ['*nat'];
  for (const line of nat.split('\n')) {
    const chain = line.startsWith(':') ? line.slice(1).split(' ')[0] : line.startsWith('-A ') || line.startsWith('-X ') ? line.split(' ')[1] : undefined;
    if (chain !== undefined && keep(chain)) out.push(line);
  }
  out.push('COMMIT', '');
  return out.join('\n');
}

interface PerBackend {
  full: Reply[];
  warm: Reply[];
  toolCold: number[];
  toolWarm: number[];
  change: Reply[];
  toolDelta: number[];
  toolLegal: number[];
  deltaBytes: number[];
  legalBytes: number[];
  fullBytes: number[];
  peakMiB: number[];
  heapMiB: number[];
  heapTotalMiB: number[];
  /** A new proxier process's first full sync on the populated table (a daemon restart or upgrade). */
  restart: Reply[];
}

const why = cannotRun();
if (why !== undefined) {
  console.log(`iptables.bench.ts skipped: ${why}`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'kpt-bench-ipt-'));
const data = new Map<string, PerBackend>(VARIANTS.map((v) => [v.key, {
  full: [], warm: [], toolCold: [], toolWarm: [], change: [], toolDelta: [], toolLegal: [], deltaBytes: [], legalBytes: [], fullBytes: [], peakMiB: [], heapMiB: [], heapTotalMiB: [], restart: [],
}]));
const versions = sh('iptables-legacy', ['--version']).trim();
console.log(`${N} Services × ${E} endpoints; ${ROUNDS} rounds × ${CHANGES} changes per back-end; ${versions}; kernel ${sh('uname', ['-r']).trim()}; ${sh('nproc', []).trim()} CPUs; node ${process.version}${AGENT_FLAGS.length > 0 ? `; proxier flags ${AGENT_FLAGS.join(' ')}` : ''}; proxier runs ${process.env.BENCH_TS === '1' ? 'the .ts sources (type stripping)' : 'compiled JS, as the image'}`);

try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const { key, backend, flags } of VARIANTS) {
      const d = data.get(key) as PerBackend;
      const tag = `${round}-${backend}${key === backend ? '' : '-b'}`;
      const oursNs = createNs(`${tag}-ours`);
      const toolNs = createNs(`${tag}-tool`);
      const ours = startAgent(oursNs, backend, dir, flags);
      const tool = startAgent(toolNs, backend, dir);
      try {
        const cold = await ours.send({ op: 'full' });
        d.full.push(cold);
        d.fullBytes.push(cold.bytes ?? 0);
        const fullFile = join(dir, `full-${backend}.txt`);
        writeFileSync(fullFile, readFileSync(join(dir, `last-${backend}.txt`)));
        d.toolCold.push((await tool.send({ op: 'restore', file: fullFile })).ms ?? 0);
        d.warm.push(await ours.send({ op: 'full' }));
        d.toolWarm.push((await tool.send({ op: 'restore', file: fullFile })).ms ?? 0);
        for (let k = 0; k < CHANGES; k++) {
          const i = ((round * CHANGES + k) * 7919) % N;
          d.change.push(await ours.send({ op: 'change', i }));
          const partial = readFileSync(join(dir, `last-${backend}.txt`), 'utf8');
          const delta = minimalDelta(partial, false);
          const legal = minimalDelta(partial, true);
          d.deltaBytes.push(Buffer.byteLength(delta));
          d.legalBytes.push(Buffer.byteLength(legal));
          writeFileSync(join(dir, 'delta.txt'), delta);
          writeFileSync(join(dir, 'legal.txt'), legal);
          // Same namespace, same loaded ruleset: the tool re-applies exactly what the change needed.
          d.toolDelta.push((await ours.send({ op: 'restore', file: join(dir, 'delta.txt') })).ms ?? 0);
          d.toolLegal.push((await ours.send({ op: 'restore', file: join(dir, 'legal.txt') })).ms ?? 0);
        }
        const mem = await ours.send({ op: 'rss' });
        d.peakMiB.push(mem.peakMiB ?? 0);
        d.heapMiB.push(mem.heapMiB ?? 0);
        d.heapTotalMiB.push(mem.heapTotalMiB ?? 0);
        // A restart: a new process whose first sync reads back the populated nat table's chains
        // (to delete stale ones) and rewrites everything, as the daemon does after an upgrade.
        await ours.stop();
        const again = startAgent(oursNs, backend, dir, flags);
        try {
          d.restart.push(await again.send({ op: 'full' }));
        } finally {
          await again.stop();
        }
      } finally {
        await ours.stop();
        await tool.stop();
        deleteNs(oursNs);
        deleteNs(toolNs);
      }
      console.log(`round ${round + 1}/${ROUNDS} ${key}: ours cold ${((d.full.at(-1)?.totalMs ?? 0) / 1000).toFixed(2)} s, tool ${((d.toolCold.at(-1) ?? 0) / 1000).toFixed(2)} s`);
    }
  }
} finally {
  teardown();
}

const pick = (rs: Reply[], k: string): number[] => rs.map((r) => r[k] ?? Number.NaN);
for (const [b, d] of data) {
  const slow = [...d.full, ...d.warm].filter((r) => (r.restore ?? 0) > 60_000).length;
  if (slow > 0) console.log(`WARNING ${b}: ${slow} full restore(s) took over 60 s, the limit src/system/iptables.ts sets (the daemon would have killed them; lifted here to measure)`);
}
const ratio = (a: number, b: number): string => (a / b).toFixed(3);
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const targets: string[][] = [];

console.log('\nFull sync, ms: median (min–max). ours = render + jumps/canaries/iptables-save + restore, from a ClusterState snapshot;');
console.log('render = plan before the restore starts; chains = chain rules made while the restore reads them (inside restore);');
console.log('other applier calls = jumps (built-in chain listings, -C/-I) + canary + nat chain read-back (first sync only).');
table(
  ['back-end', 'ours cold', 'tool cold', 'ratio', 'ours warm (resync)', 'tool warm', 'ratio', 'render cold/warm', 'chains cold/warm', 'restore in ours cold/warm', 'other applier calls cold/warm', 'options cold/warm', 'payload MiB'],
  VARIANTS.map(({ key: b }) => {
    const d = data.get(b) as PerBackend;
    const rc = median(pick(d.full, 'totalMs')) / median(d.toolCold);
    const rw = median(pick(d.warm, 'totalMs')) / median(d.toolWarm);
    targets.push([`${b}: full sync cold ≤ 1.15× tool`, ratio(rc, 1), verdict(rc <= 1.15)]);
    targets.push([`${b}: full resync warm ≤ 1.15× tool`, ratio(rw, 1), verdict(rw <= 1.15)]);
    const split = (k: string): string => `${median(pick(d.full, k)).toFixed(0)} / ${median(pick(d.warm, k)).toFixed(0)}`;
    console.log(`${b} other applier calls, cold / warm ms: jumps ${split('jumps')}, canary ${split('canary')}, nat read-back ${split('natChains')}`);
    const rr = median(pick(d.restart, 'totalMs')) / median(d.toolWarm);
    console.log(`${b} restart (new process, populated table): ${fmtRange(pick(d.restart, 'totalMs'))} ms = ${ratio(rr, 1)}× tool warm; nat read-back ${median(pick(d.restart, 'natChains')).toFixed(0)} ms`);
    return [b, fmtRange(pick(d.full, 'totalMs')), fmtRange(d.toolCold), ratio(rc, 1), fmtRange(pick(d.warm, 'totalMs')), fmtRange(d.toolWarm), ratio(rw, 1),
      ...(['render', 'stream', 'restore', 'applierOther', 'options'] as const).map(split),
      (median(d.fullBytes) / 2 ** 20).toFixed(1)];
  }),
);

console.log('\nOne endpoint changes (Ready flips), ms; ratio = ours / tool applying the minimal delta, same namespace, interleaved:');
table(
  ['back-end', 'n', 'ours p50', 'ours p99', 'tool: svc chains p50', 'p99', 'ratio p50', 'ratio p99', 'tool: + KUBE-SERVICES p50', 'p99', 'render p50', 'restore p50', 'input KiB', 'svc-only KiB', 'input / full'],
  VARIANTS.map(({ key: b }) => {
    const d = data.get(b) as PerBackend;
    const ours = pick(d.change, 'totalMs');
    const r50 = percentile(ours, 50) / percentile(d.toolDelta, 50);
    const r99 = percentile(ours, 99) / percentile(d.toolDelta, 99);
    const size = median(pick(d.change, 'bytes')) / median(d.fullBytes);
    targets.push([`${b}: one-change p50 ≤ 1.1× minimal delta`, ratio(r50, 1), verdict(r50 <= 1.1)]);
    targets.push([`${b}: one-change p99 ≤ 1.1× minimal delta`, ratio(r99, 1), verdict(r99 <= 1.1)]);
    targets.push([`${b}: one-change input ≤ 1% of full`, `${(size * 100).toFixed(2)}%`, verdict(size <= 0.01)]);
    return [b, String(ours.length), percentile(ours, 50).toFixed(0), percentile(ours, 99).toFixed(0), percentile(d.toolDelta, 50).toFixed(0), percentile(d.toolDelta, 99).toFixed(0),
      ratio(r50, 1), ratio(r99, 1), percentile(d.toolLegal, 50).toFixed(0), percentile(d.toolLegal, 99).toFixed(0),
      percentile(pick(d.change, 'render'), 50).toFixed(1), percentile(pick(d.change, 'restore'), 50).toFixed(0),
      (median(pick(d.change, 'bytes')) / 1024).toFixed(0), (median(d.deltaBytes) / 1024).toFixed(1), `${(size * 100).toFixed(2)}%`];
  }),
);

console.log('\nProxier process (ClusterState + objects + render + applier; no client-node loaded):');
table(
  ['back-end', 'peak RSS MiB', 'peak RSS MiB, restart on a populated table', 'live heap after GC MiB (state + memo)', 'V8 heap committed MiB', 'state build ms (first full only)'],
  VARIANTS.map(({ key: b }) => {
    const d = data.get(b) as PerBackend;
    const peak = median(d.peakMiB);
    const restartPeak = median(pick(d.restart, 'peakMiB'));
    targets.push([`${b}: proxier peak RSS ≤ 150 MiB`, peak.toFixed(0), verdict(peak <= 150)]);
    targets.push([`${b}: proxier peak RSS ≤ 150 MiB, restart`, restartPeak.toFixed(0), verdict(restartPeak <= 150)]);
    return [b, fmtRange(d.peakMiB), fmtRange(pick(d.restart, 'peakMiB')), fmtRange(d.heapMiB), fmtRange(d.heapTotalMiB), fmtRange(pick(d.full, 'setupMs'))];
  }),
);

console.log('\nTargets:');
table(['target', 'measured', 'verdict'], targets);
if (process.env.BENCH_CPU_PROF) console.log(`cpu profiles in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
