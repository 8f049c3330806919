// Issue 12's side-by-side question: the same N Services × E endpoints (cluster-fixtures.ts) in
// iptables mode (the real IptablesProxier in bench/iptables-agent.ts, iptables-legacy back-end by
// default, as the daemon picks where the node has legacy rules) and in nftables mode (the real
// NftablesProxier, `nft` command), one after another per size, each in namespaces of its own
// (connect-topology.ts). Per size and mode:
// - cold full sync of the proxier on empty tables, and the tool alone (iptables-restore / nft -f)
//   loading the same payload in a fresh namespace afterwards: the ratio;
// - first-packet latency: new TCP connections from the node namespace (connect-client.ts) to the
//   ClusterIP first and last in KUBE-SERVICES order (iptables' lookup is linear in the Services,
//   nftables' a map), to an endpoint IP directly with the rules loaded, and to the same endpoint
//   before any rule was loaded (the baseline: the client's own cost and the bare path);
// - one endpoint change → programmed, p50/p99.
// Each row is printed as soon as it is measured (a bound may stop a big size). Needs root.
// Run: `npm run bench -- modes-side-by-side`; env BENCH_SIZES=1000,10000,30000, BENCH_ENDPOINTS=10,
// BENCH_MODES=legacy,nftables (nft = iptables-nft back-end), BENCH_CHANGES=20, BENCH_PROBES=1000,
// BENCH_STEP_TIMEOUT_S=900 (bounds one `nft` run; the iptables agent bounds each restore at 900 s
// itself), BENCH_TOOL_MAX=30000 (no tool-alone above). A `timeout` around `npm run bench` stops
// bench/run.js only (spawnSync): to stop this bench, SIGTERM its own PID (agents and namespaces go).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, deleteAllNamespaces, deleteNamespace } from '../test/support/netns.ts';
import { clusterIP, endpointAddress } from './cluster-fixtures.ts';
import { fmtLatency, kubeServicesEnds, kubeServicesOrder, summarise, type Summary } from './connect-latency.ts';
import { connectTopology, type ProbeTarget } from './connect-topology.ts';
import { killAgents, startAgent } from './iptables-agent-client.ts';
import { boundedNft, nftablesModeDriver } from './nftables-mode-driver.ts';
import { percentile, table } from './stats.ts';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const MODES = (process.env.BENCH_MODES ?? 'legacy,nftables').split(',') as Mode[];
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const PROBES = Number(process.env.BENCH_PROBES ?? 1000);
/** The probes go in blocks, alternating between the rules' namespaces and the bare ones. */
const BLOCKS = 10;
const STEP_MS = Number(process.env.BENCH_STEP_TIMEOUT_S ?? 900) * 1000;
const TOOL_MAX = Number(process.env.BENCH_TOOL_MAX ?? 30_000);
const AGENT_FLAGS = ['--max-semi-space-size=2'];
type Mode = 'legacy' | 'nft' | 'nftables';
const MODE_NAME: Record<Mode, string> = { legacy: 'iptables (legacy)', nft: 'iptables (nft back-end)', nftables: 'nftables' };

interface Row {
  size: number;
  mode: Mode;
  load: string;
  coldMs: number;
  toolMs: number;
  change: number[];
  empty: Summary;
  direct: Summary;
  first: Summary;
  last: Summary;
  errors: string;
  note: string;
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

interface ModeRun {
  full(): Promise<number>;
  change(i: number): Promise<number>;
  /** The tool alone loading the payload of the first full sync in a fresh namespace, ms. */
  toolAlone(): Promise<number>;
  /** Something to say about the targets' places in the rules, or ''. */
  check(first: number, last: number): string;
  stop(): Promise<void>;
}

function iptablesRun(ns: string, backend: 'legacy' | 'nft', n: number, dir: string): ModeRun {
  const agent = startAgent({ ns, backend, services: n, endpoints: E, dir, flags: AGENT_FLAGS });
  const fullFile = join(dir, `full-${backend}.txt`);
  return {
    async full() {
      const r = await agent.send({ op: 'full' });
      writeFileSync(fullFile, readFileSync(join(dir, `last-${backend}.txt`)));
      return r.totalMs ?? Number.NaN;
    },
    async change(i) {
      return (await agent.send({ op: 'change', i })).totalMs ?? Number.NaN;
    },
    async toolAlone() {
      const toolNs = await createNamespace(`tool-${backend}`);
      const tool = startAgent({ ns: toolNs, backend, services: n, endpoints: E, dir, flags: AGENT_FLAGS });
      try {
        return (await tool.send({ op: 'restore', file: fullFile })).ms ?? Number.NaN;
      } finally {
        await tool.stop();
        await deleteNamespace(toolNs);
      }
    },
    check(first, last) {
      const order = kubeServicesOrder(readFileSync(fullFile, 'utf8'));
      const at = (i: number): number => order.indexOf(clusterIP(i)) + 1;
      return `KUBE-SERVICES rule ${at(first)} and ${at(last)} of ${order.length}`;
    },
    stop: () => agent.stop(),
  };
}

function nftablesRun(ns: string, n: number): ModeRun {
  const driver = nftablesModeDriver({ ns, services: n, endpoints: E, timeoutMs: STEP_MS });
  let fullTx = '';
  return {
    async full() {
      const ms = await driver.full();
      fullTx = driver.lastTransaction();
      return ms;
    },
    change: (i) => driver.change(i),
    async toolAlone() {
      const toolNs = await createNamespace('tool-nft');
      try {
        const t0 = process.hrtime.bigint();
        await boundedNft(toolNs, STEP_MS).run(fullTx);
        return since(t0);
      } finally {
        await deleteNamespace(toolNs);
      }
    },
    check: () => `one verdict-map lookup (${(fullTx.length / 2 ** 20).toFixed(1)} MiB transaction)`,
    stop: async () => undefined,
  };
}

async function measure(n: number, mode: Mode, dir: string): Promise<Row> {
  const { first, last } = kubeServicesEnds(n);
  const endpointsOf = (i: number): string[] => Array.from({ length: E }, (_, j) => endpointAddress(i, E, j).ip);
  const direct = endpointAddress(first, E);
  const podIPs = [...endpointsOf(first), ...endpointsOf(last)];
  const ports = [direct.port, endpointAddress(last, E).port];
  const topo = await connectTopology(`${mode}-${n}`, podIPs, ports);
  // The same two namespaces again with no rule at all: the baseline, probed in blocks alternating
  // with the rules' namespaces, so both see the same load (the machine is shared).
  const bare = await connectTopology(`${mode}-${n}-bare`, podIPs, ports).catch(async (err: unknown) => {
    await topo.remove();
    throw err;
  });
  const row: Row = { size: n, mode, load: loadavg(), coldMs: Number.NaN, toolMs: Number.NaN, change: [], empty: summarise([]), direct: summarise([]), first: summarise([]), last: summarise([]), errors: '', note: '' };
  const run = mode === 'nftables' ? nftablesRun(topo.node, n) : iptablesRun(topo.node, mode, n, dir);
  try {
    row.coldMs = await run.full();
    console.log(`${n} ${MODE_NAME[mode]}: cold full sync ${(row.coldMs / 1000).toFixed(2)} s (load ${loadavg()})`);
    const directTarget: ProbeTarget = { label: 'direct', ip: direct.ip, port: direct.port };
    const targets: ProbeTarget[] = [directTarget, { label: 'first', ip: clusterIP(first), port: 80 }, { label: 'last', ip: clusterIP(last), port: 80 }];
    const us: Record<string, number[]> = { empty: [], direct: [], first: [], last: [] };
    const errors: string[] = [];
    for (let b = 0; b < BLOCKS; b++) {
      const count = Math.ceil(PROBES / BLOCKS);
      const results = [{ prefix: '', r: await topo.probe(count, targets) }, { prefix: 'empty ', r: await bare.probe(count, [directTarget]) }];
      for (const { prefix, r } of results) {
        for (const [label, xs] of Object.entries(r.us)) us[prefix === '' ? label : 'empty']?.push(...xs);
        for (const [label, e] of Object.entries(r.errors)) for (const [code, k] of Object.entries(e)) errors.push(`${prefix}${label} ${code} ×${k}`);
      }
    }
    row.empty = summarise(us.empty ?? []);
    row.direct = summarise(us.direct ?? []);
    row.first = summarise(us.first ?? []);
    row.last = summarise(us.last ?? []);
    row.errors = errors.join(', ');
    row.note = `svc-${first} / svc-${last}: ${run.check(first, last)}`;
    // One endpoint of a Service other than the probed ones flips Ready, CHANGES times.
    for (let k = 0, i = 1; row.change.length < CHANGES; k++, i = (k * 7919 + 1) % n) {
      if (i !== first && i !== last) row.change.push(await run.change(i));
    }
    if (n <= TOOL_MAX) row.toolMs = await run.toolAlone();
  } finally {
    await run.stop();
    await topo.remove();
    await bare.remove();
  }
  row.load = `${row.load} → ${loadavg()}`;
  return row;
}

function printRows(rows: readonly Row[]): void {
  console.log('\nSync, ms: cold full sync of the proxier; the tool alone on the same payload in a fresh namespace; one endpoint change → programmed.');
  table(['Services', 'mode', 'cold full sync', 'tool alone', 'ratio', 'one change p50 / p99', 'load (start → end)'],
    rows.map((r) => [String(r.size), MODE_NAME[r.mode], r.coldMs.toFixed(0), r.toolMs.toFixed(0), (r.coldMs / r.toolMs).toFixed(3),
      `${percentile(r.change, 50).toFixed(0)} / ${percentile(r.change, 99).toFixed(0)} (n=${r.change.length})`, r.load]));
  console.log(`\nFirst packet: TCP connect time from the node namespace, µs p50 / p90 / p99 (added over the direct connect in bare namespaces); ${PROBES} new connections per target, interleaved, in blocks alternating with the bare namespaces.`);
  table(['Services', 'mode', 'direct, no rules (bare namespaces)', 'direct, rules loaded', 'ClusterIP first in order', 'ClusterIP last in order', 'errors', 'where'],
    rows.map((r) => [String(r.size), MODE_NAME[r.mode], fmtLatency(r.empty), fmtLatency(r.direct, r.empty), fmtLatency(r.first, r.empty), fmtLatency(r.last, r.empty), r.errors || 'none', r.note]));
}

if (process.getuid?.() !== 0) {
  console.log('modes-side-by-side bench skipped: needs root (ip netns, iptables-restore, nft)');
  process.exit(0);
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => killAgents());
const dir = mkdtempSync(join(tmpdir(), 'kpt-bench-modes-'));
const rows: Row[] = [];
console.log(`modes side by side: ${SIZES.join(', ')} Services × ${E} endpoints; modes ${MODES.join(', ')}; ${PROBES} probes, ${CHANGES} changes; node ${process.version}; load ${loadavg()}`);
try {
  for (const n of SIZES) {
    for (const mode of MODES) {
      const t0 = process.hrtime.bigint();
      try {
        rows.push(await measure(n, mode, dir));
        printRows(rows.slice(-1));
      } catch (err) {
        console.log(`${n} ${MODE_NAME[mode]}: did not finish after ${(since(t0) / 1000).toFixed(0)} s: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`);
      }
    }
  }
} finally {
  killAgents();
  await deleteAllNamespaces();
  rmSync(dir, { recursive: true, force: true });
}
console.log('\n=== all rows');
printRows(rows);
