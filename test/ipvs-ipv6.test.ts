// The ipvs mode on IPv6 and dual-stack against a real kernel: the IPVS test kernel (UML) runs
// test/support/uml-ipvs-ipv6-driver.ts, which syncs one ipvs proxier per family (upstream
// NewDualStackProxier) and sends real traffic over IPv6 to ClusterIPs and a NodePort.
import { beforeAll, expect, it } from 'vitest';
import { describeWith } from './support/requirements.ts';
import { runInUml, UML_DEFAULT_MODULES } from './support/uml.ts';

const MODULES = [
  ...UML_DEFAULT_MODULES, 'bridge', 'br_netfilter', 'nf_conntrack_netlink', 'ip_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet',
  'ip_set_bitmap_port', 'xt_set', 'iptable_nat', 'iptable_filter', 'ip6table_nat', 'ip6table_filter', 'xt_comment', 'xt_mark',
  'xt_addrtype', 'xt_conntrack', 'xt_MASQUERADE', 'xt_physdev', 'xt_ipvs', 'ipt_REJECT', 'ip6t_REJECT',
];

type Tally = [string, number][];
interface Result { fatal?: string; [k: string]: unknown }

describeWith('ipvs mode on IPv6, dual-stack (IPVS test kernel)', ['uml'], () => {
  let r: Result;
  beforeAll(async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/uml-ipvs-ipv6-driver.ts'], timeoutMs: 300_000, modules: MODULES });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    r = run.resultJson as Result;
    if (r.fatal) throw new Error(`driver failed: ${r.fatal}`);
  }, 320_000);

  const pods = (t: unknown): string[] => (t as Tally).map(([p]) => p).sort();
  const counts = (t: unknown): number[] => (t as Tally).map(([, n]) => n);
  const str = (k: string): string => String(r[k] ?? '');

  it('builds one proxier per family and syncs both without a logged error or warning', () => {
    expect(r.families).toEqual(['IPv4', 'IPv6']);
    expect([r.syncIPv4Error, r.syncIPv6Error]).toEqual([undefined, undefined]);
    expect(r.logErrors).toEqual([]);
  });

  it('programs AF_INET6 virtual servers (ClusterIP, NodePort per node address) with IPv6 real servers', () => {
    const ipvs = str('ipvsadm');
    for (const vs of ['TCP  [fd00:10:96::a]:80 rr', 'UDP  [fd00:10:96::35]:53 rr', 'TCP  [2001:db8::11]:30080 rr']) expect(ipvs).toContain(vs);
    expect(ipvs).toContain('-> [fd00:10:244:1::12]:8081');
    expect(ipvs).toContain('TCP  10.96.0.10:80 rr');
  });

  it('binds the IPv6 ClusterIPs as /128 on kube-ipvs0, next to the IPv4 ones', () => {
    expect([...str('addr6').matchAll(/inet6 (\S+)/g)].map((m) => m[1]).sort()).toEqual(['fd00:10:96::35/128', 'fd00:10:96::a/128']);
    expect(str('addr4')).toContain('inet 10.96.0.10/32');
  });

  it('fills KUBE-6-* ipsets (family inet6) and writes the ruleset with ip6tables', () => {
    expect(str('ipsetClusterIP6')).toContain('family inet6');
    expect(str('ipsetClusterIP6')).toMatch(/fd00:10:96::a,tcp:80\nfd00:10:96::35,udp:53|fd00:10:96::35,udp:53\nfd00:10:96::a,tcp:80/);
    expect(str('ipsetNames')).toContain('KUBE-6-NODE-PORT-TCP');
    expect(str('ip6tables')).toContain('-A KUBE-SERVICES ! -s fd00:10:244::/56 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-6-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ');
    expect(str('ip6tables')).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(str('ip6tables')).toContain('-A KUBE-SERVICES -s ::1/128 -j RETURN');
  });

  it('carries real IPv6 traffic: TCP and UDP to ClusterIPs, the NodePort (masqueraded), from a pod too', () => {
    expect(pods(r.tcp6)).toEqual(['pod-1', 'pod-2']);
    expect(counts(r.tcp6)).toEqual([4, 4]);
    expect(pods(r.udp6)).toEqual(['pod-1', 'pod-2']);
    expect(pods(r.nodePort6)).toEqual(['pod-1', 'pod-2']);
    expect(r.nodePort6Sources).toEqual(['fd00:10:244:1::1', 'fd00:10:244:1::1']);
    expect(pods(r.fromPod6)).toEqual(['pod-1', 'pod-2']);
    expect(pods(r.fromPod4)).toEqual(['pod-1', 'pod-2']);
    expect(pods(r.tcp4)).toEqual(['pod-1', 'pod-2']);
  });

  it('an IPv6 endpoint change is a partial sync and traffic avoids the removed endpoint', () => {
    expect((r.change6 as { kind: string }).kind).toBe('partial');
    expect(r.afterChange6).toEqual([['pod-1', 6]]);
  });

  it('a removed IPv6 UDP endpoint: its conntrack flows are deleted, the remaining one\'s kept', () => {
    expect(str('conntrack6AfterDnsChange')).not.toContain('sport=40200 ');
    expect(str('conntrack6AfterDnsChange')).toContain('sport=40201 ');
  });

  it("the IPv6 proxier's clean-up removes its state and leaves the IPv4 proxier's working", () => {
    const after = r.afterCleanup6 as { ipvsadm: string; addr4: string; ipsets: string; ip6tables: string };
    expect(after.ipvsadm).not.toContain('[');
    expect(after.ipvsadm).toContain('TCP  10.96.0.10:80 rr');
    expect(after.addr4).toContain('inet 10.96.0.10/32');
    expect(after.ipsets).not.toContain('KUBE-6-');
    expect(after.ipsets).toContain('KUBE-CLUSTER-IP');
    expect(after.ip6tables).not.toContain('KUBE-');
    expect(pods(r.tcp4AfterCleanup6)).toEqual(['pod-1', 'pod-2']);
  });

  it('kube-ipvs0 goes with the clean-up of the last family on it', () => {
    expect(r.linkAfterBothCleanups).toMatch(/^failed: .*does not exist/s);
    expect(r.ipvsAfterBothCleanups).not.toMatch(/^(TCP|UDP) /m);
  });
});
