// The per-sync fixed costs of --proxy-mode=iptables beside the restore itself, old way vs new way,
// in alternating order per round, inside a throw-away namespace (kpt-fixed-<pid>-<backend>) that
// holds a kube-proxy-shaped ruleset of BENCH_SERVICES × BENCH_ENDPOINTS (default 2,000 × 10):
// - local addresses, read on every sync: `ip -j addr show` vs two rtnetlink dumps on an open socket
// - a first start's jumps and canaries (empty tables), the same two ways
// - the first full sync after a start with everything present: the applier's ensureJumps (a `-S`
//   listing per built-in chain) + ensureCanary (a `-S` per table) vs ensureBuiltins (one
//   read-only iptables-restore probe)
// - a later full sync: the same calls then a small restore, vs the applier as setup.ts wires it
//   (withProbedBuiltins: the checks ride on that restore)
// - a partial sync's canary check (every syncPeriod): all three tables vs mangle only (upstream's
//   Monitor polls tables[0] = mangle)
// - for scale: the restore tool alone loading the whole ruleset (cold, then once more warm)
// The ruleset is synthetic (KUBE-SERVICES → KUBE-SVC → KUBE-SEP with DNAT), not the renderer's, so
// this bench does not move with renderer changes; what it measures depends on the table's size.
// Run: `npm run bench -- fixed-costs` (root). Env BENCH_SERVICES, BENCH_ENDPOINTS, BENCH_ROUNDS,
// BENCH_REPS (per round per way), BENCH_BACKENDS=legacy,nft.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuiltins, withProbedBuiltins } from '../src/backends/common/io/ensure-builtins.ts';
import { createIptablesApplier } from '../src/backends/common/iptables-rules-applier.ts';
import { CANARY_CHAIN, kubeletJumps, requiredJumps } from '../src/backends/iptables/jumps.ts';
import { exec } from '../src/system/exec.ts';
import { binaries, createIptables, type XtablesBackend } from '../src/system/iptables.ts';
import { openNetlinkAddressSource } from '../src/system/local-addresses-netlink.ts';
import { localAddresses } from '../src/system/local-addresses.ts';
import { fmtRange, median, table } from './stats.ts';

const N = Number(process.env.BENCH_SERVICES ?? 2000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'legacy,nft').split(',') as XtablesBackend[];

type Sample = Record<string, number[]>;

/** A kube-proxy-shaped nat table (and a small filter table) of n Services × e endpoints. */
function ruleset(n: number, e: number): string {
  const hex = (i: number, tag: string): string => `${tag}${i.toString(16).toUpperCase().padStart(15, '0')}`.slice(0, 16);
  const out = ['*filter', ':KUBE-SERVICES - [0:0]', ':KUBE-EXTERNAL-SERVICES - [0:0]', ':KUBE-FORWARD - [0:0]', ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]', 'COMMIT', '*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'];
  for (let i = 0; i < n; i++) {
    const svc = `KUBE-SVC-${hex(i, 'S')}`;
    out.push(`:${svc} - [0:0]`, `-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -p tcp -m tcp --dport 80 -j ${svc}`);
    for (let k = 0; k < e; k++) {
      const sep = `KUBE-SEP-${hex(i * e + k, 'E')}`;
      const ip = `10.244.${(i * e + k) >> 8 & 255}.${(i * e + k) & 255}`;
      out.push(`:${sep} - [0:0]`, `-A ${sep} -s ${ip}/32 -j KUBE-MARK-MASQ`, `-A ${sep} -p tcp -m tcp -j DNAT --to-destination ${ip}:80`);
      out.push(k < e - 1 ? `-A ${svc} -m statistic --mode random --probability ${(1 / (e - k)).toFixed(10)} -j ${sep}` : `-A ${svc} -j ${sep}`);
    }
  }
  out.push('COMMIT', '');
  return out.join('\n');
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const s = performance.now();
  await fn();
  return performance.now() - s;
}

/** Inside the namespace: load the ruleset, then measure; prints one JSON line of samples. */
async function inside(backend: XtablesBackend, file: string): Promise<void> {
  const ipt = createIptables(exec, 'IPv4', backend);
  const applier = createIptablesApplier(ipt);
  const jumps = [...requiredJumps(), ...kubeletJumps()];
  const source = openNetlinkAddressSource();
  const s: Sample = { restoreCold: [], restoreWarm: [], ipAddr: [], netlink: [], oldBuiltins: [], newBuiltins: [], oldLater: [], newLater: [], oldCold: [], newCold: [], oldCanary: [], newCanary: [] };
  // Empty tables: each sample starts from flushed tables (the flush is not timed).
  const empty = async (): Promise<void> => {
    for (const t of ['filter', 'nat', 'mangle']) for (const op of ['-F', '-X']) await exec(binaries('IPv4', backend).main, ['-w', '5', '-t', t, op]);
  };
  const old = async (): Promise<void> => {
    await applier.ensureJumps(jumps);
    await applier.ensureCanary();
  };
  for (let r = 0; r < ROUNDS; r++) {
    const order: [string, () => Promise<unknown>][] = [['oldCold', old], ['newCold', () => ensureBuiltins(ipt, jumps)]];
    for (const [key, fn] of r % 2 === 0 ? order : order.reverse()) {
      for (let k = 0; k < REPS; k++) {
        await empty();
        s[key]?.push(await timeIt(fn));
      }
    }
  }
  await empty();
  const restoreMs = await timeIt(() => exec(binaries('IPv4', backend).restore, ['--noflush', '-w', '5'], { input: ruleset(N, E), timeoutMs: 1_800_000 }));
  s.restoreCold?.push(restoreMs);
  await ensureBuiltins(ipt, jumps);
  const wired = withProbedBuiltins(createIptablesApplier(ipt), ipt);
  await wired.ensureJumps(jumps); // verified: later full syncs check inside the restore
  const small = ['*filter\n:KUBE-FORWARD - [0:0]\nCOMMIT\n', '*nat\n:KUBE-SVC-BENCH - [0:0]\n-A KUBE-SVC-BENCH -j RETURN\nCOMMIT\n'];
  const later = (a: typeof applier) => async (): Promise<void> => {
    await a.ensureJumps(jumps);
    await a.ensureCanary();
    await a.restore(small);
  };
  const ways: [string, () => Promise<unknown>, string, () => Promise<unknown>][] = [
    ['oldLater', later(applier), 'newLater', later(wired)],
    ['ipAddr', () => localAddresses(exec, 'IPv4'), 'netlink', () => source.read('IPv4')],
    ['oldBuiltins', old, 'newBuiltins', async () => {
      if (!(await ensureBuiltins(ipt, jumps))) throw new Error('probe missed a jump or canary that is there');
    }],
    ['oldCanary', () => applier.canaryPresent(), 'newCanary', () => ipt.chainExists('mangle', CANARY_CHAIN)],
  ];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [a, fa, b, fb] of ways) {
      const order: [string, () => Promise<unknown>][] = r % 2 === 0 ? [[a, fa], [b, fb]] : [[b, fb], [a, fa]];
      for (const [key, fn] of order) for (let k = 0; k < REPS; k++) s[key]?.push(await timeIt(fn));
    }
  }
  // Once: at 2k a warm nft restore takes tens of seconds.
  s.restoreWarm?.push(await timeIt(() => exec(binaries('IPv4', backend).restore, ['--noflush', '-w', '5'], { input: ruleset(N, E), timeoutMs: 1_800_000 })));
  source.close();
  writeFileSync(file, JSON.stringify(s));
}

const self = fileURLToPath(import.meta.url);
if (process.argv[2] === '--inside') {
  await inside(process.argv[3] as XtablesBackend, process.argv[4] ?? '');
  process.exit(0);
}

if (process.getuid?.() !== 0) {
  console.log('iptables-fixed-costs.bench.ts skipped: needs root (ip netns, iptables-restore)');
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'kpt-fixed-'));
const results = new Map<XtablesBackend, Sample>();
console.log(`${N} Services × ${E} endpoints (synthetic ruleset); ${ROUNDS} rounds × ${REPS} reps per way, alternating order; ${execFileSync('iptables-legacy', ['--version'], { encoding: 'utf8' }).trim()}; ${execFileSync('nproc', { encoding: 'utf8' }).trim()} CPUs`);
for (const backend of BACKENDS) {
  const ns = `kpt-fixed-${process.pid}-${backend}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const file = join(dir, `${backend}.json`);
    // A private xtables lock: other namespaces' long restores must not stall our `-w 5` calls.
    const env = { ...process.env, XTABLES_LOCKFILE: join(dir, `${backend}.lock`) };
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, '--inside', backend, file], { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`${backend}: measuring inside ${ns} failed (exit ${r.status ?? r.signal})`);
    results.set(backend, JSON.parse(execFileSync('cat', [file], { encoding: 'utf8' })) as Sample);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
rmSync(dir, { recursive: true, force: true });

const cell = (s: Sample, k: string): string => fmtRange(s[k] ?? []);
const m = (s: Sample, k: string): number => median(s[k] ?? []);
console.log('\nms per call: median (min–max); "share" = saving / the tool\'s warm restore of the whole ruleset');
table(
  ['back-end', 'cost', 'old', 'new', 'saved', 'share of warm restore'],
  [...results].flatMap(([b, s]) => {
    const warm = m(s, 'restoreWarm');
    const row = (name: string, old: string, neu: string): string[] => {
      const saved = m(s, old) - m(s, neu);
      return [b, name, cell(s, old), cell(s, neu), saved.toFixed(1), `${((saved / warm) * 100).toFixed(1)}%`];
    };
    return [
      row('local addresses (every sync)', 'ipAddr', 'netlink'),
      row('jumps + canaries, empty tables (first start)', 'oldCold', 'newCold'),
      row('jumps + canaries, all present (first full sync after a start)', 'oldBuiltins', 'newBuiltins'),
      row('later full sync: jumps + canaries + a small restore', 'oldLater', 'newLater'),
      row('canary check (partial sync, per syncPeriod)', 'oldCanary', 'newCanary'),
      [b, 'restore tool, whole ruleset', `cold ${cell(s, 'restoreCold')}`, `warm ${cell(s, 'restoreWarm')}`, '', ''],
    ];
  }),
);
