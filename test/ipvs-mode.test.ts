// The ipvs proxy mode against a real kernel: the IPVS test kernel (UML) runs
// test/support/uml-ipvs-mode-driver.ts, which syncs the ipvs Proxier from ProxyStates and records
// ipvsadm / ipset / ip / iptables-legacy-save output, our netlink counters and real traffic from an
// off-node client namespace to pods (namespaces on a bridge) through ClusterIPs and a NodePort.
import { beforeAll, expect, it } from 'vitest';
import { describeWith } from './support/requirements.ts';
import { runInUml, UML_DEFAULT_MODULES } from './support/uml.ts';

/** Modules beyond the runner's defaults: pod bridge, ipsets and the xtables matches the rules use. */
const MODULES = [
  ...UML_DEFAULT_MODULES, 'bridge', 'ip_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet',
  'ip_set_bitmap_port', 'xt_set', 'iptable_nat', 'iptable_filter', 'xt_comment', 'xt_mark', 'xt_addrtype', 'xt_conntrack',
  'xt_MASQUERADE', 'xt_physdev', 'xt_ipvs', 'ipt_REJECT',
];

interface Step { full: boolean; ipvsOps: number; addressChanges: number; ipsetLines: number; rulesWritten: boolean; changes: number; dumps: number }
type Tally = [string, number][];
interface Result {
  fatal?: string;
  sync1: Step; sync2: Step; restart: Step; endpointChange: Step; drain: Step; udpRemove: Step; repair: Step;
  sync1Error?: string; sync2Error?: string; restartError?: string; endpointChangeError?: string;
  after1: Record<string, string>;
  sysctls: Record<string, string>;
  trafficWeb: Tally; trafficDns: Tally; trafficNodePort: Tally; trafficSticky: Tally; trafficAfterChange: Tally; trafficDrain: Tally;
  nodePortSources: string[];
  afterChange: string; afterDrain: string; pendingAfterDrain: string[]; recheckDeleted: number; pendingAfterRecheck: number;
  afterUdpRemove: string; afterRepair: string;
  afterCleanup: { ipvsadm: string; link: string; ipsets: string; iptables: string };
  logErrors: string[];
}

/** `ipvsadm -Ln` as `VS` and `VS -> RS weight` lines, whitespace collapsed. */
function ipvsLines(text: string): string[] {
  const out: string[] = [];
  let vs = '';
  for (const raw of text.split('\n').slice(1)) {
    const l = raw.trim().replace(/\s+/g, ' ');
    if (/^(TCP|UDP|SCTP) /.test(l)) out.push((vs = l));
    else if (l.startsWith('-> ') && !l.startsWith('-> RemoteAddress')) {
      const [, rs, , weight] = l.split(' ');
      out.push(`${vs} -> ${rs} w${weight}`);
    }
  }
  return out.sort();
}
const pods = (t: Tally): string[] => t.map(([p]) => p).sort();

describeWith('ipvs proxy mode (IPVS test kernel)', ['uml'], () => {
  let r: Result;
  beforeAll(async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/uml-ipvs-mode-driver.ts'], timeoutMs: 400_000, modules: MODULES });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    r = run.resultJson as Result;
    if (r.fatal) throw new Error(`driver failed: ${r.fatal}`);
  }, 420_000);

  it('syncs without a single logged error or warning', () => {
    expect([r.sync1Error, r.sync2Error, r.restartError, r.endpointChangeError]).toEqual([undefined, undefined, undefined, undefined]);
    expect(r.logErrors).toEqual([]);
  });

  it('programs one virtual server per ClusterIP and per node address for the NodePort', () => {
    const lines = ipvsLines(r.after1.ipvsadm ?? '');
    expect(lines.filter((l) => !l.includes('->'))).toEqual([
      'TCP 10.244.1.1:30080 rr', 'TCP 10.96.0.10:80 rr', 'TCP 10.96.0.20:80 rr persistent 600', 'TCP 10.96.0.30:80 rr', 'TCP 192.0.2.11:30080 rr', 'UDP 10.96.0.53:53 rr',
    ]);
    expect(lines.filter((l) => l.startsWith('TCP 10.96.0.10:80 rr ->'))).toEqual(['11', '12', '13'].map((i) => `TCP 10.96.0.10:80 rr -> 10.244.1.${i}:8080 w1`));
    expect(r.sync1.changes).toBe(22);
  });

  it('binds the ClusterIPs to a down, NOARP kube-ipvs0 dummy link', () => {
    expect(r.after1.link).toMatch(/kube-ipvs0: <BROADCAST,NOARP> .* state DOWN/);
    expect(r.after1.link).toContain('dummy');
    expect([...(r.after1.addr ?? '').matchAll(/inet (\S+)/g)].map((m) => m[1]).sort()).toEqual(['10.96.0.10/32', '10.96.0.20/32', '10.96.0.30/32', '10.96.0.53/32']);
  });

  it('fills the upstream ipsets and writes the fixed ruleset with iptables-legacy', () => {
    expect((r.after1.ipsetNames ?? '').trim().split('\n')).toHaveLength(17);
    expect(r.after1.ipsetClusterIP).toMatch(/Number of entries: 4/);
    for (const e of ['10.96.0.10,tcp:80', '10.96.0.53,udp:53']) expect(r.after1.ipsetClusterIP).toContain(e);
    expect(r.after1.ipsetNodePort).toMatch(/Members:\n30080\n/);
    expect(r.after1.ipsetIps).toMatch(/Number of entries: 4/);
    expect(r.after1.iptables).toContain('-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ');
    expect(r.after1.iptables).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(r.after1.iptables).toContain('-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT');
  });

  it('sets the IPVS sysctls', () => {
    expect(r.sysctls).toEqual({ 'net/ipv4/vs/conntrack': '1', 'net/ipv4/vs/expire_nodest_conn': '1', 'net/ipv4/vs/expire_quiescent_template': '1', 'net/ipv4/ip_forward': '1' });
  });

  it('a second sync with nothing changed sends nothing at all', () => {
    expect(r.sync2).toMatchObject({ full: false, changes: 0, dumps: 0, addressChanges: 0, ipsetLines: 0, rulesWritten: false });
  });

  it('after a restart with everything programmed, the first (full) sync sends zero IPVS changes', () => {
    expect(r.restart).toMatchObject({ full: true, changes: 0, addressChanges: 0 });
    expect(r.restart.dumps).toBe(7); // one service dump + one destination dump per virtual server
  });

  it('carries real traffic: spread over every endpoint, UDP, NodePort (masqueraded), ClientIP affinity', () => {
    expect(pods(r.trafficWeb)).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(r.trafficWeb.map(([, n]) => n)).toEqual([10, 10, 10]);
    expect(pods(r.trafficDns)).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(pods(r.trafficNodePort)).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(r.nodePortSources).toEqual(['10.244.1.1']);
    expect(r.trafficSticky).toHaveLength(1);
    expect(r.trafficSticky[0]?.[1]).toBe(10);
  });

  it('one endpoint change is a partial sync of O(1) messages, and traffic avoids the removed endpoint', () => {
    // web has three virtual servers (ClusterIP + NodePort on two node addresses): one change and one dump each.
    expect(r.endpointChange).toMatchObject({ full: false, changes: 3, dumps: 3, rulesWritten: false });
    expect(pods(r.trafficAfterChange)).toEqual(['pod-1', 'pod-2']);
  });

  it('graceful termination: a TCP real server with connections goes to weight 0 and waits', () => {
    expect(r.trafficDrain).toEqual([['pod-1', 2]]);
    expect(ipvsLines(r.afterDrain)).toEqual(['TCP 10.96.0.30:80 rr', 'TCP 10.96.0.30:80 rr -> 10.244.1.11:8080 w0']);
    expect(r.pendingAfterDrain).toContain('10.96.0.30:80/TCP>10.244.1.11:8080');
    expect(r.recheckDeleted).toBe(0);
    expect(r.pendingAfterRecheck).toBe(r.pendingAfterDrain.length);
    expect(ipvsLines(r.afterChange)).toContain('TCP 10.96.0.10:80 rr -> 10.244.1.13:8080 w0');
  });

  it('UDP real servers are deleted at once, connection entries or not', () => {
    expect(r.udpRemove.changes).toBe(2);
    expect(ipvsLines(r.afterUdpRemove)).toEqual(['UDP 10.96.0.53:53 rr', 'UDP 10.96.0.53:53 rr -> 10.244.1.11:5353 w1']);
  });

  it('a full sync repairs a virtual server deleted behind its back', () => {
    expect(ipvsLines(r.afterRepair)).toEqual([
      'TCP 10.96.0.20:80 rr persistent 600', ...['11', '12', '13'].map((i) => `TCP 10.96.0.20:80 rr persistent 600 -> 10.244.1.${i}:8080 w1`),
    ]);
  });

  it('cleanup removes our virtual servers, kube-ipvs0, ipsets and chains, and spares a foreign virtual server', () => {
    expect(ipvsLines(r.afterCleanup.ipvsadm)).toEqual(['TCP 198.51.100.1:80 rr']);
    expect(r.afterCleanup.link).toMatch(/^absent/);
    expect(r.afterCleanup.ipsets).toBe('');
    expect(r.afterCleanup.iptables).not.toContain('KUBE-');
  });
});
