// Where the daemon's memory goes over its first minute at 10k × 10 (issue 14), as
// daemon-memory.bench.ts runs it (assembled tree, the Dockerfile's NODE_OPTIONS, API mode against
// the test API server, iptables legacy, real iptables-restore, in a namespace of its own), but one
// run with a timeline instead of a table: RSS and VmHWM every 100 ms (so the peak has a time and a
// phase: list, first sync, drift check), and at the first sync, +20 s and +80 s the process's
// smaps_rollup (anonymous vs file-backed pages) and V8's heap spaces from /metrics. With
// PROFILE_SNAPSHOTS=1 it also writes heap snapshots (SIGUSR2) at +20 s and +80 s into the current
// directory (summarise them with bench/heap-summary.ts).
// Env: BENCH_SERVICES, BENCH_ENDPOINTS, BENCH_NODE_OPTIONS, PROFILE_TREE (an assembled tree; default:
// assemble this checkout), PROFILE_ENV="K=V …" (extra environment for the daemon), PROFILE_ARGS (extra
// daemon flags), PROFILE_MODE (proxy mode, default iptables).
// Run (root): node bench/daemon-memory-profile.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNamespace, deleteAllNamespaces, spawnIn, type NsProcess } from '../test/support/netns.ts';
import { BENCH_NODE } from './cluster-fixtures.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const MODE = process.env.PROFILE_MODE ?? 'iptables';
const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'kpt-mem-profile-'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nodeOptions(): string {
  if (process.env.BENCH_NODE_OPTIONS !== undefined) return process.env.BENCH_NODE_OPTIONS;
  return /^ENV NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';
}

function tree(): string {
  if (process.env.PROFILE_TREE) return process.env.PROFILE_TREE;
  const dest = join(work, 'tree');
  execFileSync('bash', [join(ROOT, 'deploy/image/assemble.sh'), ROOT, dest], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dest;
}

function kb(text: string, key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024;
}

function smaps(pid: number): Record<string, number> {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: kb(s, 'VmRSS'), hwm: kb(s, 'VmHWM'), anon: kb(s, 'RssAnon'), file: kb(s, 'RssFile'), shmem: kb(s, 'RssShmem'), pss: kb(t, 'Pss') };
}

async function ask(api: NsProcess, cmd: string): Promise<string> {
  const seen = api.output().split('\n').filter((l) => l.startsWith(`${cmd} `)).length;
  api.write(`${cmd}\n`);
  let n = 0;
  return (await api.waitForLine((l) => l.startsWith(`${cmd} `) && ++n > seen, 30_000)).slice(cmd.length + 1);
}

async function heap(api: NsProcess): Promise<Record<string, number>> {
  const body = (JSON.parse(await ask(api, 'metrics')) as { body?: string }).body ?? '';
  const out: Record<string, number> = {};
  for (const m of body.matchAll(/^nodejs_heap_space_size_(used|total)_bytes\{space="(\w+)"\} (\S+)$/gm)) out[`${m[2]}.${m[1]}`] = Number(m[3]) / MiB;
  for (const k of ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes', 'kubeproxy_sync_proxy_rules_duration_seconds_count']) {
    const m = new RegExp(`^${k}(?:\\{ip_family="IPv4"\\})? (\\S+)$`, 'm').exec(body);
    out[k] = Number(m?.[1]) / (k.endsWith('_count') ? 1 : MiB);
  }
  return out;
}

const round = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));

try {
  const dir = tree();
  const ns = await createNamespace('memprof');
  const api = spawnIn(ns, process.execPath, [fileURLToPath(new URL('./daemon-apiserver.ts', import.meta.url)), String(N), String(E)], { stdin: true });
  const url = (await api.waitForLine((l) => l.startsWith('ready '), 600_000)).slice('ready '.length);
  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', `clusters: [{ name: c, cluster: { server: "${url}" } }]`, 'users: [{ name: u, user: {} }]',
    'contexts: [{ name: x, context: { cluster: c, user: u } }]', 'current-context: x', '',
  ].join('\n'));
  const extraEnv = (process.env.PROFILE_ENV ?? '').split(' ').filter((s) => s !== '');
  const extraArgs = (process.env.PROFILE_ARGS ?? '').split(' ').filter((s) => s !== '');
  const snaps = process.env.PROFILE_SNAPSHOTS === '1';
  const opts = `${nodeOptions()}${snaps ? ' --heapsnapshot-signal=SIGUSR2' : ''}`;
  const t0 = Date.now();
  const daemon = spawnIn(ns, 'env', [
    `NODE_OPTIONS=${opts}`, `XTABLES_LOCKFILE=${join(work, 'xtables.lock')}`, ...extraEnv,
    process.execPath, ...(process.env.PROFILE_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''), join(dir, 'bin/kube-proxy-ts.js'), '--kubeconfig', kubeconfig, '--hostname-override', BENCH_NODE,
    '--proxy-mode', MODE, '--iptables-backend', 'legacy', '--cluster-cidr', '10.244.0.0/16', ...extraArgs,
  ]);
  console.log(`profile: ${N}×${E}, mode ${MODE}, NODE_OPTIONS="${opts}" ${extraEnv.join(' ')} ${extraArgs.join(' ')}`);
  // Timeline: print a line whenever VmHWM rose by ≥ 5 MiB, or each 5 s.
  let lastHwm = 0;
  let lastPrint = 0;
  let stop = false;
  const sampler = (async () => {
    while (!stop && daemon.child.exitCode === null) {
      try {
        const s = smaps(daemon.pid);
        const t = Date.now() - t0;
        if ((s.hwm ?? 0) - lastHwm >= 5 || t - lastPrint >= 5000) {
          console.log(`t=${(t / 1000).toFixed(1)}s ${JSON.stringify(round(s))}`);
          lastHwm = s.hwm ?? 0;
          lastPrint = t;
        }
      } catch {
        break;
      }
      await sleep(100);
    }
  })();
  let syncs = 0;
  while (!(syncs >= 1)) {
    if (daemon.child.exitCode !== null) throw new Error(`daemon exited:\n${daemon.output().slice(-3000)}`);
    await sleep(250);
    syncs = (await heap(api)).kubeproxy_sync_proxy_rules_duration_seconds_count ?? 0;
  }
  const tSync = Date.now();
  console.log(`first sync at t=${((tSync - t0) / 1000).toFixed(1)}s`, JSON.stringify(round(smaps(daemon.pid))), JSON.stringify(round(await heap(api))));
  for (const at of [20, 80]) {
    await sleep(tSync + at * 1000 - Date.now());
    console.log(`+${at}s`, JSON.stringify(round(smaps(daemon.pid))), JSON.stringify(round(await heap(api))));
    if (snaps) {
      process.kill(daemon.pid, 'SIGUSR2');
      await sleep(8000);
    }
  }
  stop = true;
  await sampler;
  await daemon.stop();
  if (process.env.PROFILE_STDOUT) writeFileSync(process.env.PROFILE_STDOUT, daemon.stdout());
  console.log(daemon.stderr().split('\n').filter((l) => /drift|warn|error/i.test(l)).slice(0, 5).join('\n'));
} finally {
  await deleteAllNamespaces();
  rmSync(work, { recursive: true, force: true });
}
