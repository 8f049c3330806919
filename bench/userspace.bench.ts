// Userspace-mode relay (the kernel engine the daemon runs, and the Node `net` relay it falls back
// to) vs HAProxy (TCP mode, one thread) vs socat vs a minimal raw Node relay (the floor of Node's
// `net`), on loopback in one throw-away network namespace (nothing touches the root namespace):
// bulk MB/s, connect-request-response rate with p50/p99 (wrk, `Connection: close`), the proxy's
// CPU µs per connection, and memory per idle proxied pair.
//
// Fairness: every proxy talks to the same backends (a Node streamer/echo for bulk and idle pairs,
// a one-thread HAProxy answering HTTP for CRR, faster than Node so the far side is not the limit);
// every measurement runs in a fresh proxy process after a warm-up; rounds alternate the order and
// each ratio is taken within its round (the machine is shared) before the median over rounds. With
// two or more CPUs the proxy is pinned to the last CPU and wrk, the load client and the backends
// to CPU 0, so the proxy has a core to itself (BENCH_PIN=0 to let the scheduler place them); the
// `direct` row (wrk straight at the backend) shows what the load side can do without a proxy.
// Run: `npm run bench -- userspace` (root). BENCH_ROUNDS (3), BENCH_SECONDS (3), BENCH_IDLE (4000),
// BENCH_BEFORE, BENCH_RELAY_FLAGS, BENCH_ONLY, BENCH_SOCAT_IDLE, BENCH_SPLICE (below), BENCH_RELAY_BUFFER
// (bench/userspace-relay.ts).
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fmtRange, median, table } from './stats.ts';
import { NS, cpuMicros, output, settle, sh, start, stop, teardown, treePssKiB } from './userspace-procs.ts';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const IDLE = Number(process.env.BENCH_IDLE ?? 4000);
// socat forks a process per connection: 4000 idle pairs are 4000 processes, which stalled the
// bench (the load client waited for answers that never came); fewer, and a time limit.
const SOCAT_IDLE = Math.min(IDLE, Number(process.env.BENCH_SOCAT_IDLE ?? 400));
const IDLE_LIMIT_MS = 60_000;
const CONC = 32;
const PIN = process.env.BENCH_PIN !== '0' && cpus().length >= 2;
const LOAD_CPU = PIN ? 0 : undefined;
const PROXY_CPU = PIN ? cpus().length - 1 : undefined;
const node = process.execPath;
// BENCH_RELAY_FLAGS: V8/Node flags for our relay's process (e.g. `--max-semi-space-size=1`, which
// the daemon would have to be started with for the figures to apply to it).
const RELAY = [node, ...(process.env.BENCH_RELAY_FLAGS ?? '').split(' ').filter(Boolean)];

interface Subject {
  readonly name: string;
  /** Ports: bulk, CRR, echo (idle pairs). */
  readonly ports: readonly [number, number, number];
  readonly cmd: string[];
  readonly ready?: string;
  /** Idle pairs for this proxy when fewer than BENCH_IDLE (socat forks a process per pair). */
  readonly idle?: number;
}

const spec = (p: readonly number[]): string[] => [`${p[0]}:9001`, `${p[1]}:9102`, `${p[2]}:9003`];
const hapCfg = `/tmp/${NS}-haproxy.cfg`;
const backCfg = `/tmp/${NS}-backend.cfg`;
const HAP = 'haproxy (tcp, 1 thread)';
const ALL_SUBJECTS: Subject[] = [
  {
    name: 'kube-proxy-ts relay (kernel engine)',
    ports: [8101, 8102, 8103],
    cmd: [...RELAY, here('./userspace-relay.ts'), ...spec([8101, 8102, 8103])],
    ready: 'ready',
  },
  { name: HAP, ports: [8201, 8202, 8203], cmd: ['haproxy', '-db', '-f', hapCfg] },
  {
    name: 'kube-proxy-ts relay (node net)',
    ports: [8501, 8502, 8503],
    cmd: [...RELAY, here('./userspace-relay.ts'), '--engine=node', ...spec([8501, 8502, 8503])],
    ready: 'ready',
  },
  {
    name: 'socat (fork per conn)',
    ports: [8601, 8602, 8603],
    // One shell holding the three listeners; its process tree is measured and killed as one.
    cmd: [
      'sh',
      '-c',
      `${spec([8601, 8602, 8603])
        .map(
          (p) =>
            `socat TCP-LISTEN:${p.replace(':', ',bind=127.0.0.1,fork,reuseaddr,backlog=4096 TCP:127.0.0.1:')} &`,
        )
        .join(' ')} wait`,
    ],
    idle: SOCAT_IDLE,
  },
  {
    name: 'raw node relay (net floor)',
    ports: [8301, 8302, 8303],
    cmd: [node, here('./userspace-raw-relay.ts'), ...spec([8301, 8302, 8303])],
    ready: 'ready',
  },
];
// BENCH_SPLICE=1: also the kernel engine moving bytes with splice(2), side by side.
if (process.env.BENCH_SPLICE === '1') {
  const ports = [8701, 8702, 8703] as const;
  ALL_SUBJECTS.splice(1, 0, {
    name: 'kube-proxy-ts relay (kernel engine, splice)',
    ports,
    cmd: ['env', 'BENCH_RELAY_SPLICE=1', ...RELAY, here('./userspace-relay.ts'), ...spec(ports)],
    ready: 'ready',
  });
}
// BENCH_ONLY=a,b: only the proxies whose name contains one of these (HAProxy is always kept: the
// ratios are to it).
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const SUBJECTS = ALL_SUBJECTS.filter(
  (s) => s.name === HAP || ONLY.length === 0 || ONLY.some((o) => s.name.includes(o)),
);
// BENCH_BEFORE=DIR: also run the relay of another checkout (e.g. `git worktree add DIR REV`), side
// by side in the same rounds, for a before/after comparison free of the machine's drift.
const BEFORE = process.env.BENCH_BEFORE;
if (BEFORE) {
  const ports = [8401, 8402, 8403] as const;
  SUBJECTS.push({
    name: 'relay before (BENCH_BEFORE)',
    ports,
    cmd: [...RELAY, `${BEFORE}/bench/userspace-relay.ts`, ...spec(ports)],
    ready: 'ready',
  });
}

function writeConfigs(): void {
  const global = 'global\n  maxconn 9000\n  nbthread 1\n';
  const timeouts = '  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n';
  const listen = (n: number, b: number): string =>
    `listen p${n}\n  bind 127.0.0.1:${n}\n  server s 127.0.0.1:${b}\n`;
  writeFileSync(
    hapCfg,
    `${global}defaults\n  mode tcp\n${timeouts}${listen(8201, 9001)}${listen(8202, 9102)}${listen(8203, 9003)}`,
  );
  // The CRR backend: HAProxy answering HTTP itself (C, one thread), the same for every proxy.
  writeFileSync(
    backCfg,
    `${global}defaults\n  mode http\n${timeouts}frontend rr\n  bind 127.0.0.1:9102\n` +
      '  http-request return status 200 content-type text/plain string ok hdr Connection close\n',
  );
}

/** wrk's duration text (`812.00us`, `1.20ms`, `2.01s`) in µs. */
function micros(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n : m[2] === 'ms' ? n * 1000 : n * 1e6;
}

interface Crr {
  rate: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

/** Connect-request-response with wrk (C, one thread; `Connection: close`: a new connection per request). */
async function wrk(port: number, seconds: number): Promise<Crr> {
  const args = [
    '-t1',
    `-c${CONC}`,
    `-d${seconds}s`,
    '--latency',
    '-H',
    'Connection: close',
    `http://127.0.0.1:${port}/`,
  ];
  const out = await output(['wrk', ...args], LOAD_CPU);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50: micros(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: micros(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
    errors: (errs ? errs.slice(1).reduce((a, x) => a + Number(x), 0) : 0) + non2xx,
  };
}

type Sample = Record<'bulk' | 'rate' | 'p50' | 'p99' | 'cpu' | 'rss' | 'rssMarginal' | 'errors' | 'conns' | 'fdLeak', number>;

/** Open file descriptors of a process (threads share the table; NaN if it cannot be read). */
function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch (err) {
    console.error(`fd count of ${pid}: ${String(err)}`);
    return Number.NaN;
  }
}

async function load(args: string[]): Promise<Record<string, number>> {
  return JSON.parse((await output([node, here('./userspace-load.ts'), ...args], LOAD_CPU)).trim()) as Record<
    string,
    number
  >;
}

/** Throughput and CRR in one fresh proxy process, after a warm-up. */
async function traffic(s: Subject): Promise<Omit<Sample, 'rss' | 'rssMarginal'>> {
  const proxy = await start(s.cmd, s.ready, PROXY_CPU);
  try {
    await settle(300);
    const pid = proxy.pid ?? 0;
    const warm = await wrk(s.ports[1], 1); // warm-up: JIT, socket caches, HAProxy pools
    await settle(300);
    // No fd leak: what is open once every connection of the run has ended, against before it.
    const fds0 = fdCount(pid);
    const bulk = await load(['bulk', String(s.ports[0]), String(SECONDS), '2']);
    const c0 = cpuMicros(pid);
    const crr = await wrk(s.ports[1], SECONDS);
    const cpu = (cpuMicros(pid) - c0) / Math.max(1, crr.requests);
    await settle(500);
    const fdLeak = fdCount(pid) - fds0;
    return {
      conns: warm.requests + crr.requests,
      fdLeak,
      bulk: bulk.mbps ?? Number.NaN,
      rate: crr.rate,
      p50: crr.p50,
      p99: crr.p99,
      cpu,
      errors: crr.errors,
    };
  } finally {
    await stop(proxy);
  }
}

/**
 * Memory per idle pair in a fresh proxy process, two ways: from empty, (M with N pairs − M
 * before) / N, which also counts one-off growth (V8's young generation, JIT code) spread over
 * N; and marginal, (M with N − M with N/2) / (N/2), what one more pair costs. M is the proxy's
 * PSS summed over its process tree: RSS for a one-process proxy, and for socat (a process per
 * pair) its pages shared with the parent counted once. N is BENCH_IDLE, less for socat; a stage
 * that does not finish within IDLE_LIMIT_MS gives NaN (n/a) for that proxy only.
 */
async function idleRss(s: Subject): Promise<{ rss: number; rssMarginal: number }> {
  const proxy = await start(s.cmd, s.ready, PROXY_CPU);
  const holders = [];
  try {
    await settle(500);
    const half = Math.floor((s.idle ?? IDLE) / 2);
    const kib = [treePssKiB(proxy.pid ?? 0)];
    for (let i = 0; i < 2; i++) {
      const holder = start(
        [node, here('./userspace-load.ts'), 'idle', String(s.ports[2]), String(half)],
        'held',
        LOAD_CPU,
      );
      const held = await Promise.race([holder, settle(IDLE_LIMIT_MS).then(() => undefined)]);
      if (!held) {
        console.error(`${s.name}: ${half} idle pairs not held within ${IDLE_LIMIT_MS} ms: n/a`);
        return { rss: Number.NaN, rssMarginal: Number.NaN };
      }
      holders.push(held);
      await settle(1000);
      kib.push(treePssKiB(proxy.pid ?? 0));
    }
    const [k0 = 0, k1 = 0, k2 = 0] = kib;
    return { rss: ((k2 - k0) * 1024) / (2 * half), rssMarginal: ((k2 - k1) * 1024) / half };
  } finally {
    for (const h of holders) await stop(h);
    await stop(proxy);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('the userspace bench needs root (it creates a network namespace)');
  for (const tool of ['haproxy', 'wrk', 'taskset', 'socat']) sh('sh', ['-c', `command -v ${tool}`]);
  sh('ip', ['netns', 'add', NS]);
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  sh('ip', [
    'netns',
    'exec',
    NS,
    'sysctl',
    '-q',
    '-w',
    'net.ipv4.tcp_tw_reuse=1',
    'net.ipv4.ip_local_port_range=20000 65000',
  ]);
  writeConfigs();
  await start([node, here('./userspace-backend.ts'), '9001', '9002', '9003'], 'ready', LOAD_CPU);
  await start(['haproxy', '-db', '-f', backCfg], undefined, LOAD_CPU);
  await settle(500);

  const samples = new Map<string, Sample[]>(SUBJECTS.map((s) => [s.name, []]));
  const direct: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    direct.push((await wrk(9102, SECONDS)).rate);
    // Rotate the order each round so no proxy always runs first (or right after another's load).
    const order = SUBJECTS.map((_, i) => SUBJECTS[(i + round) % SUBJECTS.length] as Subject);
    for (const s of order) {
      const t = await traffic(s);
      samples.get(s.name)?.push({ ...t, ...(await idleRss(s)) });
    }
    console.error(`round ${round + 1}/${ROUNDS} done`);
  }
  report(samples, direct);
}

function report(samples: Map<string, Sample[]>, direct: number[]): void {
  const hap = samples.get(HAP) ?? [];
  const col = (xs: Sample[], k: keyof Sample): string => fmtRange(xs.map((x) => x[k]));
  // Ratio to HAProxy within each round, then the median over rounds.
  const ratio = (xs: Sample[], k: keyof Sample): string =>
    median(xs.map((x, i) => x[k] / (hap[i]?.[k] ?? Number.NaN))).toFixed(2);
  console.log(
    `userspace relay bench: loopback in one namespace, ${ROUNDS} rounds x ${SECONDS}s, wrk -c${CONC} Connection: close, ` +
      `${IDLE} idle pairs, relay flags [${RELAY.slice(1).join(' ')}], ${PIN ? `proxy pinned to CPU ${PROXY_CPU}, load and backends to CPU ${LOAD_CPU}` : 'unpinned'}; ` +
      'cells: median (min–max); ×hap: median of per-round ratios',
  );
  const head = [
    'proxy',
    'bulk MB/s',
    '×hap',
    'CRR/s',
    '×hap',
    'p50 µs',
    'p99 µs',
    '×hap',
    'CPU µs/conn',
    '×hap',
    'B/idle pair',
    'marginal B/pair',
    'errors',
    'fds left after (conns)',
  ];
  const rows = [...samples].map(([name, xs]) => [
    name,
    col(xs, 'bulk'),
    ratio(xs, 'bulk'),
    col(xs, 'rate'),
    ratio(xs, 'rate'),
    col(xs, 'p50'),
    col(xs, 'p99'),
    ratio(xs, 'p99'),
    col(xs, 'cpu'),
    ratio(xs, 'cpu'),
    col(xs, 'rss'),
    col(xs, 'rssMarginal'),
    String(xs.reduce((a, x) => a + x.errors, 0)),
    `${Math.max(...xs.map((x) => x.fdLeak))} (${xs.reduce((a, x) => a + x.conns, 0)})`,
  ]);
  rows.push(['direct to backend (no proxy)', '', '', fmtRange(direct), '', '', '', '', '', '', '', '', '', '']);
  table(head, rows);
  console.log(
    'targets: bulk ≥ 0.95× haproxy, CRR ≥ 0.9× haproxy, p99 ≤ 1.5× haproxy, ≤ 4096 B RSS per idle pair',
  );
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => void teardown().finally(() => process.exit(130)));
try {
  await main();
} finally {
  await teardown();
}
