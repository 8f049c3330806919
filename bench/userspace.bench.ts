// Userspace-mode relay vs HAProxy (TCP mode, one thread) vs socat, side by side in one run, all on
// loopback inside one throw-away network namespace (nothing touches the root namespace):
// bulk throughput, connect-request-response rate with p50/p99 latency, RSS per idle proxied pair.
// Run: `node bench/userspace.bench.ts` (pinned Node; root) or `npm run bench -- userspace`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const NS = `kpt-us-${process.pid}-bench`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const IDLE = Number(process.env.BENCH_IDLE ?? 4000);
const CONC = 32;
const children: ChildProcess[] = [];
let HAVE_WRK = false;

function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ensureTool(cmd: string, pkg: string): void {
  try {
    sh('sh', ['-c', `command -v ${cmd}`]);
  } catch (err) {
    void err; // missing: install it, as the bench needs the peers side by side
    console.error(`installing ${pkg}`);
    sh('apt-get', ['install', '-y', '-q', pkg]);
  }
}

/** Start a process in the namespace with a high fd limit; resolves once it printed `wait` (if given). */
function start(cmd: string[], wait?: string): Promise<ChildProcess> {
  // The hard limit may be low in a container: raise the soft limit to it.
  const script = 'ulimit -n "$(ulimit -Hn)"; exec "$@"';
  const child = spawn('ip', ['netns', 'exec', NS, 'sh', '-c', script, 'sh', ...cmd], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  if (wait === undefined) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(wait)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}: ${out}`)));
  });
}

async function runLoad(args: string[]): Promise<Record<string, number>> {
  const child = await start([process.execPath, here('./userspace-load.ts'), ...args]);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((r) => child.on('exit', r));
  return JSON.parse(out.trim()) as Record<string, number>;
}

/** The proxy's resident memory in KiB: every process of it (socat forks one per connection). */
function rssKiB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch (err) {
      void err; // the process ended between listing and reading: nothing to count
    }
  }
  return kib;
}

function descendants(pid: number): number[] {
  const out = [pid];
  try {
    for (const c of sh('pgrep', ['-P', String(pid)]).split('\n').filter(Boolean)) out.push(...descendants(Number(c)));
  } catch (err) {
    void err; // pgrep exits 1 when there are no children
  }
  return out;
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function idleRss(port: number, rootPid: number): Promise<number> {
  await settle(500);
  const before = rssKiB(descendants(rootPid));
  const holder = await start([process.execPath, here('./userspace-load.ts'), 'idle', String(port), String(IDLE)], 'held');
  await settle(1500);
  const after = rssKiB(descendants(rootPid));
  holder.stdin?.end();
  await new Promise((r) => holder.on('exit', r));
  return ((after - before) * 1024) / IDLE;
}

interface Row {
  bulk: number;
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  rssPerPair: number;
}

/** wrk's duration text (`812.00us`, `1.20ms`, `2.01s`) in µs. */
function micros(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === 'us' ? n : m[2] === 'ms' ? n * 1000 : n * 1e6;
}

/**
 * Connect-request-response with wrk (C, one thread, `Connection: close` so every request is a new
 * connection): the load generator must not be the bottleneck it would be in Node.
 */
async function wrkCrr(port: number): Promise<Record<string, number>> {
  const args = ['-t1', `-c${CONC}`, `-d${SECONDS}s`, '--latency', '-H', 'Connection: close', `http://127.0.0.1:${port}/`];
  const child = await start(['wrk', ...args]);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((r) => child.on('exit', r));
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = micros(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = micros(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = (errs ? errs.slice(1).reduce((a, x) => a + Number(x), 0) : 0) + non2xx;
  return { rate, p50, p99, errors };
}

async function measure(ports: { bulk: number; rr: number; echo: number }, rootPid: number): Promise<Row> {
  const bulk = await runLoad(['bulk', String(ports.bulk), String(SECONDS), '2']);
  const crr = HAVE_WRK ? await wrkCrr(ports.rr) : await runLoad(['crr', String(ports.rr), String(SECONDS), String(CONC)]);
  const rssPerPair = await idleRss(ports.echo, rootPid);
  return { bulk: bulk.mbps ?? 0, rate: crr.rate ?? 0, p50: crr.p50 ?? 0, p99: crr.p99 ?? 0, errors: crr.errors ?? 0, rssPerPair };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the userspace bench needs root (it creates a network namespace)');
  ensureTool('haproxy', 'haproxy');
  ensureTool('socat', 'socat');
  try {
    ensureTool('wrk', 'wrk');
    HAVE_WRK = true;
  } catch (err) {
    console.error(`wrk unavailable, CRR is driven by the Node client: ${String(err)}`);
  }
  sh('ip', ['netns', 'add', NS]);
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  sh('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=20000 65000']);
  await start([process.execPath, here('./userspace-backend.ts'), '9001', '9002', '9003'], 'ready');

  const results: Record<string, Row> = {};
  const ours = await start([process.execPath, here('./userspace-relay.ts'), '8101:9001', '8102:9002', '8103:9003'], 'ready');
  results['kube-proxy-ts relay'] = await measure({ bulk: 8101, rr: 8102, echo: 8103 }, ours.pid ?? 0);

  const cfg = `/tmp/${NS}-haproxy.cfg`;
  const listen = (n: number, b: number): string => `listen p${n}\n  bind 127.0.0.1:${n}\n  server s 127.0.0.1:${b}\n`;
  writeFileSync(
    cfg,
    'global\n  maxconn 9000\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n' +
      listen(8201, 9001) + listen(8202, 9002) + listen(8203, 9003),
  );
  const hap = await start(['haproxy', '-db', '-f', cfg]);
  await settle(500);
  results['haproxy (tcp, 1 thread)'] = await measure({ bulk: 8201, rr: 8202, echo: 8203 }, hap.pid ?? 0);

  // socat: one parent per port; count the echo parent and its per-connection children for RSS.
  const soc = (n: number, b: number): Promise<ChildProcess> =>
    start(['socat', `TCP-LISTEN:${n},bind=127.0.0.1,fork,reuseaddr,backlog=4096`, `TCP:127.0.0.1:${b}`]);
  await soc(8301, 9001);
  await soc(8302, 9002);
  const socEcho = await soc(8303, 9003);
  await settle(300);
  // socat forks a process per connection whose pages are mostly shared with the parent, so an RSS
  // sum is meaningless (it even came out negative as forks exited); its column shows n/a.
  results.socat = { ...(await measure({ bulk: 8301, rr: 8302, echo: 8303 }, socEcho.pid ?? 0)), rssPerPair: Number.NaN };

  const base = results['haproxy (tcp, 1 thread)'];
  const f = (n: number, d = 0): string => n.toFixed(d).padStart(10);
  const ratio = (n: number, m: number | undefined): string => (m ? (n / m).toFixed(2) : '-').padStart(7);
  console.log(
    `userspace relay bench: loopback in one namespace, ${SECONDS}s per test, CRR by ${HAVE_WRK ? 'wrk' : 'Node client'} ` +
      `concurrency ${CONC}, ${IDLE} idle pairs`,
  );
  console.log(`${'proxy'.padEnd(26)}${'bulk MB/s'.padStart(10)}  ×hap${'CRR/s'.padStart(10)}  ×hap${'p50 µs'.padStart(10)}${'p99 µs'.padStart(10)}  ×hap${'B/pair'.padStart(10)} errors`);
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(26)}${f(r.bulk)}${ratio(r.bulk, base?.bulk)}${f(r.rate)}${ratio(r.rate, base?.rate)}${f(r.p50)}${f(r.p99)}${ratio(r.p99, base?.p99)}${Number.isNaN(r.rssPerPair) ? 'n/a'.padStart(10) : f(r.rssPerPair)} ${r.errors}`,
    );
  }
  console.log('targets: bulk ≥ 0.95× haproxy, CRR ≥ 0.9× haproxy, p99 ≤ 1.5× haproxy, ≤ 4096 B RSS per idle pair');
}

let tornDown = false;
async function teardown(): Promise<void> {
  if (tornDown) return;
  tornDown = true;
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch (err) {
      void err; // it exited on its own meanwhile
    }
  }
  await settle(200);
  // Other test runs add and delete namespaces at the same time; iproute2's /run/netns handling can
  // race with them, so check that ours is really gone and retry.
  for (let i = 0; i < 5; i++) {
    try {
      sh('ip', ['netns', 'del', NS]);
    } catch (err) {
      if (i === 4) console.error(`could not delete ${NS}: ${String(err)}`);
    }
    if (!sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === NS)) return;
    await settle(200);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void teardown().finally(() => process.exit(130)));
try {
  await main();
} finally {
  await teardown();
}
