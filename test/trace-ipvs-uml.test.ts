// `kube-proxy-ts trace` in the ipvs mode against where real packets go, inside the IPVS test
// kernel (the host kernel has no IPVS): test/support/uml-ipvs-trace-driver.ts programs the node
// with the ipvs proxier, runs trace there (live netlink dump, ipset save, iptables-save) and sends
// the same packets. trace's real servers must be the pods that answered, its masquerade verdict
// what the pods saw as the source, persistence one pod, REJECT a refused connection.
import { beforeAll, expect, it } from 'vitest';
import type { TraceReport } from '../src/trace/trace-types.ts';
import { describeWith } from './support/requirements.ts';
import { runInUml, UML_DEFAULT_MODULES } from './support/uml.ts';

const MODULES = [
  ...UML_DEFAULT_MODULES, 'bridge', 'br_netfilter', 'nf_conntrack_netlink', 'ip_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet',
  'ip_set_bitmap_port', 'xt_set', 'iptable_nat', 'iptable_filter', 'xt_comment', 'xt_mark',
  'xt_addrtype', 'xt_conntrack', 'xt_MASQUERADE', 'xt_physdev', 'xt_ipvs', 'ipt_REJECT',
];

interface Case { trace: { code: number; json: TraceReport | null; stderr: string }; replies: string[] }
interface Result { fatal?: string; logErrors: string[]; cases: Record<string, Case>; pods: Record<string, string>; dumpCode: number; dumpFormat?: string }

describeWith('kube-proxy-ts trace agrees with real packets (ipvs mode, IPVS test kernel)', ['uml'], () => {
  let r: Result;
  beforeAll(async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/uml-ipvs-trace-driver.ts'], timeoutMs: 300_000, modules: MODULES });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    r = run.resultJson as Result;
    if (r.fatal) throw new Error(`driver failed: ${r.fatal}`);
  }, 320_000);

  const podOf = (address: string): string => Object.entries(r.pods).find(([, ip]) => address.startsWith(`${ip}:`))?.[0] ?? `not a pod: ${address}`;

  function agree(name: string): TraceReport {
    const c = r.cases[name];
    const t = c?.trace.json;
    if (c === undefined || t === null || t === undefined) throw new Error(`${name}: trace failed: ${c?.trace.stderr ?? 'no case'}`);
    const why = JSON.stringify(c, null, 1);
    if (t.verdict !== 'DNAT') {
      expect(c.trace.code, why).toBe(1);
      expect(c.replies[0], why).toBe(t.verdict === 'REJECT' ? 'error:ECONNREFUSED' : 'error:ETIMEDOUT');
      return t;
    }
    expect(c.trace.code, why).toBe(0);
    const pods = [...new Set(c.replies.map((x) => x.split(' ')[0] ?? ''))].sort();
    expect(c.replies.every((x) => !x.startsWith('error:')), why).toBe(true);
    expect(pods.every((p) => t.endpoints.map((e) => podOf(e.address)).includes(p)), why).toBe(true);
    const src = t.packet.src;
    const masqueraded = c.replies.some((x) => !x.endsWith(` from ${src}`));
    expect(t.endpoints.every((e) => (e.masquerade !== null) === masqueraded), why).toBe(true);
    return t;
  }

  it('programs without a logged error; --dump-state prints the bundle', () => {
    expect(r.logErrors).toEqual([]);
    expect([r.dumpCode, r.dumpFormat]).toEqual([0, 'kube-proxy-ts/ipvs-trace-state/v1']);
  });

  it('ClusterIP from the node: both real servers by rr, half each, masqueraded', () => {
    const t = agree('clusterIP from the node');
    expect(t.endpoints.map((e) => podOf(e.address)).sort()).toEqual(['pod-1', 'pod-2']);
    expect(t.endpoints.map((e) => e.probability)).toEqual([0.5, 0.5]);
    expect(new Set(r.cases['clusterIP from the node']?.replies.map((x) => x.split(' ')[0])).size).toBe(2);
  });

  it('ClusterIP from a pod: its one real server, the pod address kept', () => {
    const t = agree('clusterIP from a pod');
    expect(t.endpoints.map((e) => [podOf(e.address), e.probability, e.masquerade])).toEqual([['pod-2', 1, null]]);
  });

  it('externalIP from outside: masqueraded, as the pods saw', () => {
    expect(agree('externalIP from outside')).toMatchObject({ verdict: 'DNAT', service: { matchedAs: 'external IP' } });
  });

  it('persistence: ClientIP affinity with its timeout, real requests stick to one pod', () => {
    const t = agree('persistence');
    expect(t.affinity).toEqual({ kind: 'ClientIP', timeoutSeconds: 600 });
    expect(new Set(r.cases['persistence']?.replies.map((x) => x.split(' ')[0])).size).toBe(1);
  });

  it('no endpoints: REJECT, refused', () => {
    expect(agree('no endpoints').verdict).toBe('REJECT');
  });
});
