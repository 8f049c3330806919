// The whole daemon's memory and CPU as the image runs it (issue 14): the runtime tree that
// deploy/image/assemble.sh builds, the Dockerfile's NODE_OPTIONS, `--kubeconfig` to the test API
// server holding N Services × one EndpointSlice of E endpoints, iptables mode on the legacy
// back-end with a real iptables-restore, all inside a network namespace of its own. RSS is read
// from /proc/PID/status (VmHWM = peak, VmRSS = now), CPU from /proc/PID/stat.
// Per tree and round: idle (API mode, no Services: RSS 10 s after the first sync), then 10k × 10:
// start → first list request → first sync (programmed), peak and steady RSS SETTLE s after it, CPU
// over IDLE_CPU s with no changes, then a burst of BURST slice updates and the syncs it cost.
// Trees side by side, interleaved per round: `this` (the checkout) and, with BENCH_BASELINE_REF
// (e.g. main or a commit), the tree of that commit; BENCH_TREES="name=DIR,…" adds assembled trees.
// Needs root (namespaces, iptables). Run: `BENCH_BASELINE_REF=main npm run bench -- daemon-memory`
// (env BENCH_SERVICES, BENCH_ENDPOINTS, BENCH_ROUNDS, BENCH_SETTLE_S, BENCH_IDLE_CPU_S, BENCH_BURST,
// BENCH_NODE_OPTIONS to override the Dockerfile's, BENCH_COMPARE_ENV="K=V …" to run `this` a second
// time with that environment, side by side: e.g. glibc malloc tunables; BENCH_MODES="iptables,nftables,userspace"
// runs each tree in each of those modes, ipvs not: it needs the IPVS of the UML test kernel).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNamespace, deleteAllNamespaces, deleteNamespace, spawnIn, type NsProcess } from '../test/support/netns.ts';
import { BENCH_NODE } from './cluster-fixtures.ts';
import { fmtRange, table } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const env = (k: string, d: number): number => Number(process.env[k] ?? d);
const N = env('BENCH_SERVICES', 10_000);
const E = env('BENCH_ENDPOINTS', 10);
const ROUNDS = env('BENCH_ROUNDS', 1);
const SETTLE_S = env('BENCH_SETTLE_S', 20);
const IDLE_CPU_S = env('BENCH_IDLE_CPU_S', 60);
const BURST = env('BENCH_BURST', 1000);
const TICKS_PER_S = 100; // USER_HZ on Linux
const MiB = 1024 * 1024;

/** The image's NODE_OPTIONS, read from the Dockerfile so the bench cannot drift from it. */
function imageNodeOptions(): string {
  if (process.env.BENCH_NODE_OPTIONS !== undefined) return process.env.BENCH_NODE_OPTIONS;
  const m = /^ENV NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  if (!m) throw new Error('Dockerfile: no ENV NODE_OPTIONS line');
  return m[1] ?? '';
}

const work = mkdtempSync(join(tmpdir(), 'kpt-daemon-memory-'));

/** Assemble a runtime tree from a source directory, exactly as the image build does. */
function assemble(src: string, name: string): string {
  const dest = join(work, `tree-${name}`);
  execFileSync('bash', [join(src, 'deploy/image/assemble.sh'), src, dest], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dest;
}

/** The tree of a commit: its files (git archive) compiled with this checkout's dev tools. */
function assembleRef(ref: string): string {
  const src = join(work, `src-${ref.replace(/[^\w.-]/g, '_')}`);
  mkdirSync(src);
  execFileSync('bash', ['-c', `git -C "${ROOT}" archive "${ref}" | tar -x -C "${src}"`]);
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  return assemble(src, ref.replace(/[^\w.-]/g, '_'));
}

/** rss = anon (heap, malloc: the daemon's own) + file (mapped pages of the node binary and libraries, shared and reclaimable). */
interface Proc { rss: number; hwm: number; anon: number; file: number; ticks: number }

function readProc(pid: number): Proc | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    // Fields after the ")" of comm: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined; // the process ended
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One request/answer on the API server child's stdin/stdout (see daemon-apiserver.ts). */
async function ask(api: NsProcess, cmd: string, timeoutMs = 30_000): Promise<string> {
  const key = cmd.split(' ')[0] as string;
  const reply = `${key === 'burst' ? 'burst-done' : key} `;
  const seen = api.output().split('\n').filter((l) => l.startsWith(reply)).length;
  api.write(`${cmd}\n`);
  let n = 0;
  const line = await api.waitForLine((l) => l.startsWith(reply) && ++n > seen, timeoutMs);
  return line.slice(reply.length);
}

async function metric(api: NsProcess, name: string): Promise<number> {
  const r = JSON.parse(await ask(api, 'metrics')) as { body?: string };
  // Labelled since the metrics carry ip_family (one series per family, each family syncs every
  // time): the largest value over the series.
  const values = [...(r.body ?? '').matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
  return values.length > 0 ? Math.max(...values) : Number.NaN;
}

type Row = Record<string, number>;

async function runDaemon(tree: string, services: number, full: boolean, extraEnv: readonly string[], mode: string): Promise<Row> {
  const ns = await createNamespace('mem');
  const api = spawnIn(ns, process.execPath, [fileURLToPath(new URL('./daemon-apiserver.ts', import.meta.url)), String(services), String(E)], { stdin: true });
  const url = (await api.waitForLine((l) => l.startsWith('ready '), 600_000)).slice('ready '.length);
  const kubeconfig = join(work, `kubeconfig-${ns}`);
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', `clusters: [{ name: c, cluster: { server: "${url}" } }]`, 'users: [{ name: u, user: {} }]',
    'contexts: [{ name: x, context: { cluster: c, user: u } }]', 'current-context: x', '',
  ].join('\n'));
  const t0 = Date.now();
  const daemon = spawnIn(ns, 'env', [
    `NODE_OPTIONS=${imageNodeOptions()}`, `XTABLES_LOCKFILE=${join(work, `xtables-${ns}.lock`)}`, ...extraEnv,
    process.execPath, join(tree, 'bin/kube-proxy-ts.js'), '--kubeconfig', kubeconfig, '--hostname-override', BENCH_NODE,
    '--proxy-mode', mode, '--iptables-backend', 'legacy', '--cluster-cidr', '10.244.0.0/16',
  ]);
  const row: Row = {};
  try {
    let syncs = Number.NaN;
    while (!(syncs >= 1)) {
      if (Date.now() - t0 > 600_000 || daemon.child.exitCode !== null) throw new Error(`no first sync; output:\n${daemon.output().slice(-3000)}`);
      await sleep(250);
      syncs = await metric(api, 'kubeproxy_sync_proxy_rules_duration_seconds_count');
    }
    const programmed = Date.now();
    const reqs = JSON.parse(await ask(api, 'requests')) as { path: string; query: Record<string, string>; at: number }[];
    // The first list of Services: a streaming list (WatchList) or the first page.
    const firstList = reqs.find((r) => r.path === '/api/v1/services' && (r.query.watch === undefined || r.query.sendInitialEvents === 'true'))?.at ?? Number.NaN;
    row.startMs = firstList - t0;
    row.syncMs = programmed - firstList;
    await sleep((full ? SETTLE_S : 10) * 1000);
    const settled = readProc(daemon.pid);
    row.peakMiB = (settled?.hwm ?? Number.NaN) / MiB;
    row.rssMiB = (settled?.rss ?? Number.NaN) / MiB;
    row.anonMiB = (settled?.anon ?? Number.NaN) / MiB;
    row.fileMiB = (settled?.file ?? Number.NaN) / MiB;
    if (!full) return row;
    await sleep(IDLE_CPU_S * 1000);
    const later = readProc(daemon.pid);
    row.idleCpuPct = (((later?.ticks ?? Number.NaN) - (settled?.ticks ?? Number.NaN)) / TICKS_PER_S / IDLE_CPU_S) * 100;
    row.steadyMiB = (later?.rss ?? Number.NaN) / MiB;
    const before = await metric(api, 'kubeproxy_sync_proxy_rules_duration_seconds_count');
    await ask(api, `burst ${BURST}`, 120_000);
    // Settled when the sync count has not moved for 10 s (minSyncPeriod is 1 s; one sync of the burst
    // in nftables mode at 10k took over 3 s, which a 3 s window counted as none).
    let last = before;
    let still = 0;
    for (let i = 0; i < 480 && still < 40; i++) {
      await sleep(250);
      const now = await metric(api, 'kubeproxy_sync_proxy_rules_duration_seconds_count');
      still = now === last ? still + 1 : 0;
      last = now;
    }
    row.burstSyncs = last - before;
    row.burstPeakMiB = (readProc(daemon.pid)?.hwm ?? Number.NaN) / MiB;
    return row;
  } finally {
    await daemon.stop();
    await api.stop();
    await deleteNamespace(ns);
  }
}

const trees: [string, string, string[]][] = [['this', assemble(ROOT, 'this'), []]];
if (process.env.BENCH_BASELINE_REF) trees.unshift([process.env.BENCH_BASELINE_REF, assembleRef(process.env.BENCH_BASELINE_REF), []]);
for (const spec of (process.env.BENCH_TREES ?? '').split(',').filter((s) => s !== '')) {
  const [name = '', dir = ''] = spec.split('=');
  trees.push([name, dir, []]);
}
const compareEnv = (process.env.BENCH_COMPARE_ENV ?? '').split(' ').filter((s) => s !== '');
if (compareEnv.length > 0) trees.push([`this ${compareEnv.join(' ')}`, trees.find(([n]) => n === 'this')?.[1] ?? '', compareEnv]);

// BENCH_MODES="iptables,nftables,userspace": each tree in each mode (ipvs needs the UML test kernel's IPVS: not here).
const MODES = (process.env.BENCH_MODES ?? 'iptables').split(',').filter((m) => m !== '');
const runs: [string, string, string[], string][] = trees.flatMap(([name, dir, extraEnv]) =>
  MODES.map((mode): [string, string, string[], string] => [MODES.length > 1 ? `${name} ${mode}` : name, dir, extraEnv, mode]));
console.log(`daemon as the image runs it: Node ${process.version}, NODE_OPTIONS="${imageNodeOptions()}", ${N} Services × ${E} endpoints, mode(s) ${MODES.join(', ')} (iptables on legacy), ${ROUNDS} round(s); machine shared (2 cores)`);
const results = new Map<string, Row[]>(runs.map(([name]) => [name, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, dir, extraEnv, mode] of runs) {
      const idle = await runDaemon(dir, 0, false, extraEnv, mode);
      const big = await runDaemon(dir, N, true, extraEnv, mode);
      const row = { idleMiB: idle.rssMiB ?? Number.NaN, idleAnonMiB: idle.anonMiB ?? Number.NaN, idleFileMiB: idle.fileMiB ?? Number.NaN, ...big };
      console.log(`round ${round + 1} ${name}: ${JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Math.round(v * 10) / 10])))}`);
      results.get(name)?.push(row);
    }
  }
} finally {
  await deleteAllNamespaces();
  rmSync(work, { recursive: true, force: true });
}

const COLS: [string, string][] = [
  ['idleMiB', 'idle RSS MiB'], ['idleAnonMiB', '  of it anon (heap, malloc)'], ['idleFileMiB', '  of it file (node binary, libs)'], ['peakMiB', `peak (VmHWM) MiB at +${SETTLE_S}s`], ['rssMiB', `RSS MiB at +${SETTLE_S}s`],
  ['steadyMiB', `steady RSS MiB at +${SETTLE_S + IDLE_CPU_S}s`], ['startMs', 'start → list ms'], ['syncMs', 'list → programmed ms'],
  ['idleCpuPct', `idle CPU % core (${IDLE_CPU_S}s)`], ['burstSyncs', `syncs for ${BURST} slice updates`], ['burstPeakMiB', 'peak after burst MiB'],
];
table(['', ...runs.map(([name]) => name)], COLS.map(([k, label]) => [label, ...runs.map(([name]) => fmtRange((results.get(name) ?? []).map((r) => r[k] ?? Number.NaN)))]));
