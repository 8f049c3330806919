// B2/B5 for the control path: the test API server (its own process) holds 10,000 Services × one
// EndpointSlice of 10 endpoints; the daemon side (another process, so its peak RSS is its own)
// lists them through ApiSource → ClusterState → SyncLoop and programs them with a recording
// proxier, and with the real iptables proxier whose applier discards the payload (render
// measured, no kernel). Side by side in one run, interleaved per round: the process floor, a plain
// fetch + JSON.parse, client-node's raw list calls. Then a burst of 1,000 EndpointSlice updates:
// how many syncs it costs (minSyncPeriod 1 s, as upstream's default).
// Run: `npm run bench -- foundation` (env BENCH_SERVICES, BENCH_ENDPOINTS, BENCH_ROUNDS, BENCH_BURST,
// BENCH_DAEMON_FLAGS, BENCH_TS=1 to run the daemon side from the .ts sources).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compiled } from './compiled.ts';
import { fmtRange, median, table } from './stats.ts';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BURST = Number(process.env.BENCH_BURST ?? 1000);
const MIN_SYNC_MS = 1000;
const children = new Set<ChildProcess>();

interface Child {
  readonly proc: ChildProcess;
  next(prefix: string, timeoutMs?: number): Promise<string>;
}

// The daemon side runs with the Node flags the image sets (Dockerfile NODE_OPTIONS);
// BENCH_DAEMON_FLAGS='' measures Node's defaults.
const DAEMON_FLAGS = (process.env.BENCH_DAEMON_FLAGS ?? '--max-semi-space-size=2').split(' ').filter((f) => f !== '');

/** Start a Node child and read its stdout line by line; `next` waits for a line with a prefix. */
function startChild(args: string[], flags: readonly string[] = []): Child {
  const proc = spawn(process.execPath, ['--expose-gc', ...flags, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let exited = false;
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) w();
  });
  proc.on('exit', () => {
    exited = true;
    for (const w of waiters.splice(0)) w();
  });
  return {
    proc,
    async next(prefix, timeoutMs = 300_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = lines.findIndex((l) => l.startsWith(`${prefix} `));
        if (i >= 0) return (lines.splice(i, 1)[0] as string).slice(prefix.length + 1);
        if (exited) throw new Error(`${args.join(' ')} exited before printing "${prefix}"`);
        if (Date.now() > deadline) throw new Error(`${args.join(' ')}: no "${prefix}" within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 1000);
        });
      }
    },
  };
}

async function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const done = new Promise((r) => c.proc.once('exit', r));
  if (c.proc.pid !== undefined) process.kill(c.proc.pid, 'SIGTERM');
  await done;
}

process.once('SIGINT', () => {
  for (const c of children) if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  process.exit(130);
});

type Row = Record<string, number>;
const MODES = ['idle', 'fetch', 'client-node', 'recording', 'iptables'] as const;
const results = new Map<string, Row[]>(MODES.map((m) => [m, []]));
const bursts = new Map<string, Row[]>([['recording', []], ['iptables', []]]);
const perSync = new Map<string, string[]>([['recording', []], ['iptables', []]]);

console.log(`${N} Services × ${E} endpoints; ${ROUNDS} rounds; burst ${BURST}; node ${process.version}; daemon side compiled JS${DAEMON_FLAGS.length > 0 ? ` with ${DAEMON_FLAGS.join(' ')}` : ''}`);
const t0 = performance.now();
const api = startChild([here('./foundation-apiserver.ts'), String(N), String(E)]);
const url = await api.next('ready');
console.log(`test API server ready at ${url} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round, so no mode always follows a burst or a GC-heavy neighbour.
    for (const variant of MODES.map((_, k) => MODES[(k + round) % MODES.length] as (typeof MODES)[number])) {
      const d = startChild([compiled('./foundation-daemon.ts', import.meta.url), variant, url, String(BURST), String(MIN_SYNC_MS)], DAEMON_FLAGS);
      if (variant === 'recording' || variant === 'iptables') {
        results.get(variant)?.push(JSON.parse(await d.next('first-sync')) as Row);
        const steady = JSON.parse(await d.next('ready-for-burst')) as Row;
        api.proc.stdin?.write(`burst ${BURST}\n`);
        await api.next('burst-done');
        const { changedPerSync, renderMsPerSync, ...b } = JSON.parse(await d.next('burst')) as Row & { changedPerSync: number[]; renderMsPerSync: number[] };
        bursts.get(variant)?.push({ ...b, steadyMiB: steady.steadyMiB ?? 0, heapMiB: steady.heapMiB ?? 0 });
        perSync.get(variant)?.push(`changes/sync ${changedPerSync.join(',')}${variant === 'iptables' ? `; render ms ${renderMsPerSync.join(',')}` : ''}`);
      } else {
        results.get(variant)?.push(JSON.parse(await d.next('result')) as Row);
      }
      await stopChild(d);
    }
  }
} finally {
  await stopChild(api);
}

const col = (rows: Row[] | undefined, k: string): number[] => (rows ?? []).map((r) => r[k] ?? Number.NaN);
const fetchList = median(col(results.get('fetch'), 'listMs'));
const idlePeak = median(col(results.get('idle'), 'peakMiB'));
console.log('\nList and first sync (median, min–max over rounds; ratio = median / plain fetch median):');
table(
  ['daemon side', 'list ms', '× fetch', 'first sync ms', 'from process start ms', 'render ms', 'peak RSS MiB', 'peak − idle MiB'],
  MODES.map((m) => {
    const rows = results.get(m);
    const list = col(rows, 'listMs');
    const sync = m === 'recording' || m === 'iptables';
    return [
      m,
      m === 'idle' ? '—' : fmtRange(list),
      m === 'idle' ? '—' : (median(list) / fetchList).toFixed(2),
      sync ? fmtRange(col(rows, 'firstSyncMs')) : '—',
      sync ? fmtRange(col(rows, 'fromProcessStartMs')) : '—',
      m === 'iptables' ? fmtRange(col(rows, 'renderMs')) : '—',
      fmtRange(col(rows, 'peakMiB')),
      m === 'idle' ? '—' : (median(col(rows, 'peakMiB')) - idlePeak).toFixed(0),
    ];
  }),
);
const ipt = results.get('iptables');
console.log(`iptables payload at first sync: ${(median(col(ipt, 'bytes')) / 2 ** 20).toFixed(1)} MiB`);

console.log(`\nBurst of ${BURST} EndpointSlice updates (minSyncPeriod ${MIN_SYNC_MS} ms):`);
table(
  ['daemon side', 'changes seen', 'syncs', 'syncs with changes', 'arrival ms', 'first change → all programmed ms', 'steady RSS MiB (after gc)', 'heap MiB', 'peak RSS MiB'],
  [...bursts].map(([m, rows]) => [
    m,
    fmtRange(col(rows, 'changes')),
    fmtRange(col(rows, 'syncs')),
    fmtRange(col(rows, 'syncsWithChanges')),
    fmtRange(col(rows, 'arrivalMs')),
    fmtRange(col(rows, 'programmedMs')),
    fmtRange(col(rows, 'steadyMiB')),
    fmtRange(col(rows, 'heapMiB')),
    fmtRange(col(rows, 'peakMiB')),
  ]),
);
for (const [m, lines] of perSync) for (const l of lines) console.log(`  ${m}: ${l}`);
const peak = median(col(ipt, 'peakMiB'));
console.log(`\nTarget B5 (steady RSS ≤ 150 MiB at 10k×10, iptables daemon side, no kernel): steady ${median(col(bursts.get('iptables'), 'steadyMiB')).toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB → ${median(col(bursts.get('iptables'), 'steadyMiB')) <= 150 ? 'met' : 'MISSED'}`);
