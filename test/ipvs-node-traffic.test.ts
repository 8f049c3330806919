// The ipvs mode from the node itself (issue 13): until now the ipvs tests sent only from pods and
// the off-node client. In the IPVS test kernel, test/support/uml-ipvs-node-driver.ts syncs one
// proxier per family and connects from the node (the kubelet's and hostNetwork pods' view) to a
// ClusterIP, an externalIP and a LoadBalancer IP, over TCP and UDP, IPv4 and IPv6.
import { beforeAll, expect, it } from 'vitest';
import { describeWith } from './support/requirements.ts';
import { runInUml, UML_DEFAULT_MODULES } from './support/uml.ts';

const MODULES = [
  ...UML_DEFAULT_MODULES, 'bridge', 'br_netfilter', 'nf_conntrack_netlink', 'ip_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet',
  'ip_set_bitmap_port', 'xt_set', 'iptable_nat', 'iptable_filter', 'ip6table_nat', 'ip6table_filter', 'xt_comment', 'xt_mark',
  'xt_addrtype', 'xt_conntrack', 'xt_MASQUERADE', 'xt_physdev', 'xt_ipvs', 'ipt_REJECT', 'ip6t_REJECT',
];

interface Result { fatal?: string; logErrors: string[]; [k: string]: unknown }

describeWith('ipvs mode: traffic from the node itself (IPVS test kernel)', ['uml'], () => {
  let r: Result;
  beforeAll(async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/uml-ipvs-node-driver.ts'], timeoutMs: 300_000, modules: MODULES });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    r = run.resultJson as Result;
    if (r.fatal) throw new Error(`driver failed: ${r.fatal}`);
  }, 320_000);

  const cases = ['clusterIP tcp', 'externalIP tcp', 'loadBalancerIP tcp', 'clusterIP udp', 'externalIP udp', 'loadBalancerIP udp'];

  it('syncs both families without a logged error or warning', () => {
    expect([r.syncIPv4Error, r.syncIPv6Error]).toEqual([undefined, undefined]);
    expect(r.logErrors).toEqual([]);
  });

  it.each(['IPv4', 'IPv6'])('%s: the node reaches every address over TCP and UDP, spread over both pods', (family) => {
    const fromNode = r[`fromNode${family}`] as Record<string, string[]>;
    const got = Object.fromEntries(cases.map((c) => [c, [...new Set(fromNode[c])].sort()]));
    expect(got).toEqual(Object.fromEntries(cases.map((c) => [c, ['pod-1', 'pod-2']])));
  });

  it.each(['IPv4', 'IPv6'])('%s: so does the off-node client (the control)', (family) => {
    const fromClient = r[`fromClient${family}`] as Record<string, string[]>;
    for (const c of cases) expect(fromClient[c]?.every((p) => p.startsWith('pod-')), `${c}: ${String(fromClient[c])}`).toBe(true);
  });
});
