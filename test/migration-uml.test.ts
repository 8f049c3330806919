// Switching proxy modes under traffic, in the IPVS test kernel: the real daemon in iptables mode,
// then ipvs, then iptables again (SIGTERM between them, as a DaemonSet rollout does), with request
// loops to a ClusterIP and a NodePort running throughout (test/support/migration-uml-driver.ts).
// No request may fail, and after each switch the old mode's leftovers must be gone.
import { beforeAll, expect, it } from 'vitest';
import { describeWith } from './support/requirements.ts';
import { runInUml, UML_DEFAULT_MODULES } from './support/uml.ts';
import { IPVS_DEPRECATION_MESSAGE } from '../src/config/mode-warnings.ts';

const MODULES = [
  ...UML_DEFAULT_MODULES, 'bridge', 'ip_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet',
  'ip_set_bitmap_port', 'xt_set', 'iptable_nat', 'iptable_filter', 'iptable_mangle', 'xt_comment', 'xt_mark', 'xt_addrtype', 'xt_conntrack',
  'xt_MASQUERADE', 'xt_physdev', 'xt_ipvs', 'ipt_REJECT', 'xt_statistic', 'xt_tcpudp', 'xt_nat', 'xt_recent',
];

type Kernel = Record<'nat' | 'filter' | 'mangle' | 'ipvsadm' | 'link' | 'ipsets', string>;
interface Load { total: number; pods: Record<string, number>; failures: { n: number; error: string; port: number; at: number }[]; slow: { n: number; ms: number }[] }
interface Result {
  fatal?: string;
  iptables1: Kernel; ipvs1: Kernel; iptables2: Kernel;
  counts1: number[]; counts2: number[];
  exit0: number | string; exit1: number | string; exit2: number | string;
  loads: Load[];
  logs: string[];
  /** When each switch happened (with IPVS's connection count then), and the kernel's entries for a stalled request's port. */
  events: { at: number; what: string }[];
  snapshots: unknown[];
}

const chains = (saved: string): string[] => [...saved.matchAll(/^:(KUBE-\S+)/gm)].map((m) => m[1] ?? '').sort();
const ipvsServices = (text: string): string[] => text.split('\n').filter((l) => /^(TCP|UDP|SCTP) /.test(l)).map((l) => l.trim().split(/\s+/)[1] ?? '');

describeWith('migration between proxy modes under traffic (IPVS test kernel)', ['uml'], () => {
  let r: Result;
  beforeAll(async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/migration-uml-driver.ts'], timeoutMs: 500_000, modules: MODULES });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    r = run.resultJson as Result;
    if (r.fatal) throw new Error(`driver failed: ${r.fatal}\n${(r.logs ?? []).join('\n---\n').slice(-6000)}`);
  }, 520_000);

  it('answers every request to the ClusterIP and the NodePort across iptables → ipvs → iptables', () => {
    expect(r.loads).toHaveLength(2);
    // To place a failure: its `at` against the switches, and what the kernel held for its port.
    if (r.loads.some((l) => l.failures.length > 0)) console.error('switches', r.events, 'kernel entries', JSON.stringify(r.snapshots));
    for (const [i, load] of r.loads.entries()) {
      // The request counts when ipvs and then iptables took over, to place a failure.
      expect({ load: i, switchedAt: [r.counts1[i], r.counts2[i]], failures: load.failures }).toEqual({ load: i, switchedAt: [r.counts1[i], r.counts2[i]], failures: [] });
      expect(Object.keys(load.pods).sort()).toEqual(['web-1', 'web-2']);
      // Slow is not failed, but say so: a retransmitted SYN shows up here.
      if (load.slow.length > 0) console.info(`load ${i}: ${load.slow.length} requests over 1 s`, load.slow.slice(0, 5));
    }
    // Each loop ran through both switches (at least 20 + 2 × (10 + 50) requests).
    for (const load of r.loads) expect(load.total).toBeGreaterThanOrEqual(140);
    expect({ exits: [r.exit0, r.exit1, r.exit2], logs: r.logs.join('\n---\n').slice(-4000) }).toMatchObject({ exits: [0, 0, 0] });
  });

  it('programs iptables mode first', () => {
    expect(chains(r.iptables1.nat).some((c) => c.startsWith('KUBE-SVC-'))).toBe(true);
    expect(ipvsServices(r.iptables1.ipvsadm)).toEqual([]);
  });

  it('in ipvs mode, the iptables mode\'s own chains and jumps are gone and the shared ones rewritten', () => {
    expect(ipvsServices(r.ipvs1.ipvsadm).sort()).toEqual(['10.244.1.1:30080', '10.96.0.10:80', '192.0.2.11:30080']);
    expect(chains(r.ipvs1.nat)).toEqual(['KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ', 'KUBE-NODE-PORT', 'KUBE-POSTROUTING', 'KUBE-SERVICES']);
    // KUBE-FIREWALL is kubelet's chain (the iptables mode keeps a copy): never removed, as upstream.
    expect(chains(r.ipvs1.filter)).toEqual(['KUBE-FIREWALL', 'KUBE-FORWARD', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL']);
    expect(r.ipvs1.filter).not.toContain('kubernetes load balancer firewall');
    expect(chains(r.ipvs1.mangle)).toEqual([]);
  });

  it('back in iptables mode, no IPVS virtual server, kube-ipvs0, ipvs chain or KUBE ipset is left', () => {
    expect(ipvsServices(r.iptables2.ipvsadm)).toEqual([]);
    expect(r.iptables2.link).not.toContain('kube-ipvs0');
    expect(r.iptables2.ipsets.split('\n').filter((l) => l.startsWith('KUBE-'))).toEqual([]);
    const nat = chains(r.iptables2.nat);
    expect(nat.filter((c) => ['KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER'].includes(c))).toEqual([]);
    expect(nat.some((c) => c.startsWith('KUBE-SVC-'))).toBe(true);
    expect(chains(r.iptables2.filter)).toEqual(chains(r.iptables1.filter));
    expect(r.iptables2.filter).not.toContain('kube-proxy firewall rules');
  });

  it('logs no error in any mode but the ipvs deprecation upstream logs at error level', () => {
    // Pretty (default) or JSON log lines. The ipvs mode's start-up deprecation line is an error
    // in upstream too (createProxier, KEP-5495); it is expected once per ipvs start.
    const errors = (log: string): string[] => log.split('\n').filter((l) => /^\S+ (ERROR|FATAL) |"level":(50|60)/.test(l));
    for (const log of r.logs) expect(errors(log).filter((l) => !l.includes(IPVS_DEPRECATION_MESSAGE))).toEqual([]);
    expect(r.logs.flatMap(errors).filter((l) => l.includes(IPVS_DEPRECATION_MESSAGE)).length).toBeGreaterThan(0);
  });
});
