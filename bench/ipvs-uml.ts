// Runs inside the IPVS test kernel for bench/ipvs.bench.ts: 10,000 ClusterIP Services × 10
// endpoints programmed from empty by ipvsadm-restore and by us (IPVS alone, and the whole
// proxier sync: kube-ipvs0 addresses, ipsets, iptables), then the restart sync and single
// endpoint changes at that scale. Writes the figures to $KPT_UML_RESULT.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ep, makeState, svcPort } from '../src/backends/common/testing/fixtures.ts';
import { diffIpvs } from '../src/backends/ipvs/diff.ts';
import { createIpvsProxiers } from '../src/backends/ipvs/io/setup.ts';
import { planIpvs } from '../src/backends/ipvs/plan.ts';
import { defaultConfig } from '../src/config/defaults.ts';
import type { Endpoint, ProxyState, ServicePort } from '../src/model/types.ts';
import { exec } from '../src/system/exec.ts';
import { IpvsClient } from '../src/system/ipvs-client.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';

const SERVICES = Number(process.env.KPT_BENCH_SERVICES ?? 10_000);
const EPS = 10;
const CHANGES = Number(process.env.KPT_BENCH_CHANGES ?? 50);
const sh = (cmd: string, args: string[], input?: string): string => execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
const ms = (t0: number): number => performance.now() - t0;

const ip = (base: number, i: number): string => `${base >> 8 & 255}.${(base & 255)}.${i >> 8 & 255}.${i & 255}`;
const svcs: [ServicePort, Endpoint[]][] = [];
for (let s = 0; s < SERVICES; s++) {
  const svc = svcPort('bench', `svc-${s}`, '', { clusterIP: `10.96.${s >> 8}.${s & 255}`, port: 80 });
  svcs.push([svc, Array.from({ length: EPS }, (_, e) => ep(ip(0x0af4, s * EPS + e), 8080))]);
}
const state = (over: Partial<ProxyState> = {}): ProxyState => makeState('IPv4', svcs, over);

const out: Record<string, unknown> = { services: SERVICES, endpoints: EPS };

// Every from-empty measurement gets a fresh network namespace (IPVS is per namespace): deleted
// real servers linger in the kernel's dest trash for a minute and are scanned linearly on every
// add (ip_vs_ctl.c ip_vs_trash_get_dest), which would penalise whichever run comes second.
if (process.argv[2] === 'ipvs-only') {
  // Ours, IPVS only: plan + diff against the (empty) kernel + batched netlink.
  const client = await IpvsClient.open();
  const t = performance.now();
  const plan = planIpvs(state(), { scheduler: 'rr', nodePortIPs: [], localAddresses: new Set() });
  const diff = diffIpvs({ plan, kernel: new Map(), pending: new Map(), excluded: () => false, now: 0 });
  const results = await client.apply(diff.ops);
  console.log(JSON.stringify({ ms: ms(t), ops: diff.ops.length, errors: results.filter((r) => r.error).length }));
  client.close();
  process.exit(0);
}

// 3. The whole proxier sync from empty, then a restart, then single endpoint changes.
const base = defaultConfig();
const config = { ...base, iptables: { ...base.iptables, backend: 'legacy' as const }, mode: 'ipvs' as const };
const logger = recordingLogger();
const make = async () => {
  const [p] = await createIpvsProxiers({ config, families: ['IPv4'], exec, logger, kernelRelease: '6.1.0' });
  if (!p) throw new Error('no proxier');
  return p;
};
let p = await make();
let t0 = performance.now();
await p.sync(state());
out.proxierFullMs = ms(t0);
out.proxierFull = { ...p.lastSync, ...p.netlinkStats };
await p.close();

p = await make();
t0 = performance.now();
await p.sync(state());
out.restartMs = ms(t0);
out.restart = { ...p.lastSync, ...p.netlinkStats };

const latencies: number[] = [];
const messages: number[] = [];
for (let i = 0; i < CHANGES; i++) {
  const k = (i * 7919) % SERVICES;
  const entry = svcs[k];
  if (!entry) continue;
  const [svc, eps] = entry;
  eps[0] = ep(`10.250.${i >> 8 & 255}.${i & 255}`, 8080);
  const before = p.netlinkStats;
  // The snapshot is built before the clock starts (the tracker hands the proxier a ready one):
  // building 10k-entry maps here would be measured as the sync's cost.
  const next = state({ full: false, changedEndpoints: new Set([svc.name]) });
  t0 = performance.now();
  await p.sync(next);
  latencies.push(ms(t0));
  const after = p.netlinkStats;
  messages.push(after.ipvsChanges - before.ipvsChanges + after.ipvsDumps - before.ipvsDumps);
}
out.changeLatencies = latencies;

out.changeMessages = messages;
out.changeOps = p.lastSync?.ipvsOps;
out.errors = logger.entries.filter((e) => e.level === 'error').map((e) => e.msg).slice(0, 5);
await p.close();

// ipvsadm-restore of the same virtual and real servers, then ours (IPVS only), each in a fresh namespace.
const lines: string[] = [];
for (const [svc, eps] of svcs) {
  lines.push(`-A -t ${svc.clusterIP}:80 -s rr`);
  for (const e of eps) lines.push(`-a -t ${svc.clusterIP}:80 -r ${e.ip}:8080 -m -w 1`);
}
/** A namespace with a route, so real-server addresses count as unicast (ip_vs_new_dest checks). */
const freshNamespace = (name: string): void => {
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', name, 'link', 'add', 'eth0', 'type', 'dummy']);
  sh('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', name, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
  sh('ip', ['-n', name, 'route', 'add', 'default', 'via', '192.0.2.2']);
};
freshNamespace('kpt-bench-a');
t0 = performance.now();
sh('ip', ['netns', 'exec', 'kpt-bench-a', 'ipvsadm-restore'], `${lines.join('\n')}\n`);
out.ipvsadmRestoreMs = ms(t0);
out.ipvsadmCount = sh('ip', ['netns', 'exec', 'kpt-bench-a', 'ipvsadm', '-Ln']).split('\n').filter((l) => l.startsWith('TCP')).length;
freshNamespace('kpt-bench-b');
const only = JSON.parse(sh('ip', ['netns', 'exec', 'kpt-bench-b', process.execPath, 'bench/ipvs-uml.ts', 'ipvs-only'])) as { ms: number; ops: number; errors: number };
out.oursIpvsMs = only.ms;
out.oursIpvsOps = only.ops;
out.oursIpvsErrors = only.errors;
writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out));
