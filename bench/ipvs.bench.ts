// ipvs mode at 10,000 Services × 10 endpoints, inside the IPVS test kernel (UML): programming from
// empty by us vs ipvsadm-restore loading the same set (side by side in one run); the first sync
// after a restart with everything programmed (IPVS changes sent: should be 0); one endpoint change
// (netlink messages, and p50/p99 change-to-programmed). Run: `node bench/ipvs.bench.ts`.
import { runInUml, umlMissing, UML_DEFAULT_MODULES } from '../test/support/uml.ts';

const why = umlMissing();
if (why !== null) {
  console.log(`ipvs bench skipped: ${why}`);
  process.exit(0);
}
const MODULES = [
  ...UML_DEFAULT_MODULES, 'ip_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet',
  'ip_set_bitmap_port', 'xt_set', 'iptable_nat', 'iptable_filter', 'xt_comment', 'xt_mark', 'xt_addrtype', 'xt_conntrack',
  'xt_MASQUERADE', 'xt_physdev', 'xt_ipvs', 'ipt_REJECT',
];
const env = Object.fromEntries(['KPT_BENCH_SERVICES', 'KPT_BENCH_CHANGES'].flatMap((k) => (process.env[k] ? [[k, process.env[k] ?? '']] : [])));
const run = await runInUml({ command: [process.execPath, 'bench/ipvs-uml.ts'], timeoutMs: 1_200_000, mem: '2G', modules: MODULES, env });
if (run.code !== 0 || run.resultJson === undefined) {
  console.error(`ipvs bench failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  process.exit(1);
}
const r = run.resultJson as {
  services: number; endpoints: number; ipvsadmRestoreMs: number; ipvsadmCount: number; oursIpvsMs: number; oursIpvsOps: number; oursIpvsErrors: number;
  proxierFullMs: number; proxierFull: { ipvsChanges: number; ipvsDumps: number; addressChanges: number; ipsetLines: number };
  restartMs: number; restart: { ipvsOps: number; ipvsChanges: number; ipvsDumps: number };
  changeLatencies: number[]; changeMessages: number[]; changeOps: number; errors: string[];
};
const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const f = (n: number): string => n.toFixed(1);
console.log(`ipvs mode, ${r.services} ClusterIP Services × ${r.endpoints} endpoints, in the IPVS test kernel (UML)`);
console.table([
  { case: 'from empty: ipvsadm-restore (IPVS only)', ms: f(r.ipvsadmRestoreMs), messages: `${r.ipvsadmCount} services`, ratio: '1.00' },
  { case: 'from empty: ours, IPVS only (plan+diff+netlink)', ms: f(r.oursIpvsMs), messages: r.oursIpvsOps, ratio: (r.oursIpvsMs / r.ipvsadmRestoreMs).toFixed(2) },
  { case: 'from empty: ours, whole sync (+addresses, ipsets, iptables)', ms: f(r.proxierFullMs), messages: r.proxierFull.ipvsChanges + r.proxierFull.ipvsDumps, ratio: (r.proxierFullMs / r.ipvsadmRestoreMs).toFixed(2) },
  { case: 'restart, everything programmed (full sync)', ms: f(r.restartMs), messages: `${r.restart.ipvsOps} IPVS changes, ${r.restart.ipvsDumps} dumps`, ratio: '' },
  { case: `one endpoint change p50 (n=${r.changeLatencies.length})`, ms: f(pct(r.changeLatencies, 0.5)), messages: pct(r.changeMessages, 0.5), ratio: '' },
  { case: 'one endpoint change p99', ms: f(pct(r.changeLatencies, 0.99)), messages: Math.max(...r.changeMessages), ratio: '' },
]);
if (r.oursIpvsErrors > 0 || r.errors.length > 0) console.log('errors:', r.oursIpvsErrors, r.errors);
