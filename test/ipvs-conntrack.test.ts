// UDP conntrack clean-up in the ipvs mode against a real kernel: the IPVS test kernel (UML) runs
// test/support/uml-ipvs-conntrack-driver.ts, which keeps UDP flows (one source port each) going
// through ClusterIPs while the endpoint a flow uses is removed and while a service gains its first
// endpoint, with the proxier's conntrack clean-up and without it (the control).
//
// What the control shows on this kernel (6.1): the live IPVS flow recovers without our clean-up
// too, because IPVS itself drops the connections (and, with net/ipv4/vs/conntrack=1, their
// conntrack entries) of a deleted real server when expire_nodest_conn=1, which the proxier sets.
// What only the clean-up removes are conntrack entries IPVS holds no connection for (flows from
// before a restart or another path; here inserted with conntrack -I), which would keep the old
// NAT for as long as packets keep coming: the control keeps them, the clean-up deletes them.
import { beforeAll, expect, it } from 'vitest';
import { describeWith } from './support/requirements.ts';
import { runInUml, UML_DEFAULT_MODULES } from './support/uml.ts';

const MODULES = [
  ...UML_DEFAULT_MODULES, 'bridge', 'nf_conntrack_netlink', 'ip_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip',
  'ip_set_hash_ipportnet', 'ip_set_bitmap_port', 'xt_set', 'iptable_nat', 'iptable_filter', 'xt_comment', 'xt_mark', 'xt_addrtype',
  'xt_conntrack', 'xt_MASQUERADE', 'xt_physdev', 'xt_ipvs', 'ipt_REJECT',
];

interface Phase {
  used: string; dstNatBefore: string; before: string[]; after: string[]; firstBefore: string[]; firstAfter: string[];
  asked: unknown[]; conntrackBefore: string; conntrackAfter: string; ipvsAfter: string;
}
interface Result { fatal?: string; conntrackVersion: string; control: Phase; cleaned: Phase; logErrors: string[] }

describeWith('ipvs mode: UDP conntrack clean-up (IPVS test kernel)', ['uml'], () => {
  let r: Result;
  beforeAll(async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/uml-ipvs-conntrack-driver.ts'], timeoutMs: 300_000, modules: MODULES });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    r = run.resultJson as Result;
    if (r.fatal) throw new Error(`driver failed: ${r.fatal}`);
  }, 320_000);

  const other = (used: string): string => (used === 'pod-1' ? 'pod-2' : 'pod-1');

  it('runs the real conntrack tool without a logged error', () => {
    expect(r.conntrackVersion).toMatch(/^conntrack v1\./);
    expect(r.logErrors).toEqual([]);
  });

  it('a flow keeps its endpoint until that endpoint is removed, then reaches the remaining one', () => {
    expect(new Set(r.cleaned.before)).toEqual(new Set([r.cleaned.used]));
    expect(r.cleaned.after).toEqual(Array(6).fill(other(r.cleaned.used)));
    expect(r.cleaned.ipvsAfter).not.toContain(r.cleaned.used === 'pod-1' ? '10.244.1.11' : '10.244.1.12');
  });

  it('a UDP service refused while it had no endpoint answers on the same flow once it has one', () => {
    expect(r.cleaned.firstBefore).toEqual(['error:ECONNREFUSED', 'error:ECONNREFUSED']);
    expect(r.cleaned.firstAfter).toEqual(Array(4).fill('pod-2'));
  });

  it('asks to delete the flows to the removed endpoint and every flow to the service that gained one', () => {
    const usedIP = r.cleaned.used === 'pod-1' ? '10.244.1.11' : '10.244.1.12';
    expect(r.cleaned.asked).toEqual([
      { kind: 'service-ip-to-endpoint', ip: '10.96.0.63', endpointIP: usedIP },
      { kind: 'service-ip', ip: '10.96.0.64' },
    ]);
  });

  it('deletes the stale conntrack entries, which stay without the clean-up (the control)', () => {
    // The inserted entries (source ports 40101/40102 in the control, 40111/40112 with clean-up).
    for (const port of [40_101, 40_102]) {
      expect(r.control.conntrackBefore).toContain(`sport=${port} `);
      expect(r.control.conntrackAfter).toContain(`sport=${port} `);
    }
    for (const port of [40_111, 40_112]) {
      expect(r.cleaned.conntrackBefore).toContain(`sport=${port} `);
      expect(r.cleaned.conntrackAfter).not.toContain(`sport=${port} `);
    }
  });

  it('without the clean-up the live IPVS flow still moves on this kernel (IPVS expires it itself)', () => {
    expect(r.control.after).toEqual(Array(6).fill(other(r.control.used)));
  });
});
