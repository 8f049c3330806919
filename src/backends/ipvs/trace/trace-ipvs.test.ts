// Golden traces (testdata/*.trace; UPDATE_GOLDEN=1 rewrites them) over ipvs trace states built
// from the ipvs mode's own planner, ipsets and rules (testing/trace-state.ts), as
// `kube-proxy-ts trace --state` prints them; the set matcher against ipset's member forms; bad bundles.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ep, makeState, svcPort } from '../../common/testing/fixtures.ts';
import { formatTrace } from '../../../trace/format-trace.ts';
import { parseDest, parseFrom } from '../../../trace/parse-dest.ts';
import { traceExitCode, type TraceReport } from '../../../trace/trace-types.ts';
import { ipvsTraceStateOf } from '../testing/trace-state.ts';
import { parseIpsetSave, setMembership } from './ipset-save.ts';
import { recognisesIpvsState, traceVirtualServer, type IpvsTraceState } from './ipvs-trace-state.ts';
import { parseDestination, parseService } from '../../../netlink/ipvs-decode.ts';
import { splitMessages } from '../../../netlink/message.ts';
import { fromHex } from '../../../netlink/testdata/hex.ts';
import { traceIpvs } from './trace-ipvs.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
const NODE = '192.0.2.11';

const web = svcPort('ns', 'web', 'http', { clusterIP: '10.96.0.10', nodePort: 30080 });
const sticky = svcPort('ns', 'sticky', 'http', { clusterIP: '10.96.0.30', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } });
const empty = svcPort('ns', 'empty', 'http', { clusterIP: '10.96.0.70' });
const ranged = svcPort('ns', 'ranged', 'http', { clusterIP: '10.96.0.71', loadBalancerVIPs: ['198.51.100.71'], loadBalancerSourceRanges: ['203.0.113.0/24'] });
const dns = svcPort('ns', 'dns', 'dns', { clusterIP: '10.96.0.53', protocol: 'UDP', port: 53 });
const state = makeState('IPv4', [
  [web, [ep('10.244.1.10', 8080, { isLocal: true }), ep('10.244.1.11', 8080), ep('10.244.2.10', 8080)]],
  [sticky, [ep('10.244.1.10', 8080), ep('10.244.2.10', 8080)]],
  [empty, []],
  [ranged, [ep('10.244.2.10', 8080)]],
  [dns, [ep('10.244.1.20', 53)]],
]);
const saved = ipvsTraceStateOf(state, NODE);
const savedLc = ipvsTraceStateOf(makeState('IPv4', [[web, [ep('10.244.1.10', 8080), ep('10.244.2.10', 8080)]]]), NODE, 'lc');

// The IPVS test kernel's recorded dumps (src/netlink/testdata, test/support/uml-capture-fixtures.ts):
// 10.96.0.1:443 rr with real servers of weight 1 and 5, and 10.96.0.30:8080 sh, persistent 10800 s;
// the rules and ipsets of a Service with the same addresses.
const dump = (name: string) => splitMessages(fromHex(readFileSync(new URL(`../../../netlink/testdata/${name}.hex`, import.meta.url), 'utf8')));
const recorded = (() => {
  const services = dump('ipvs-dump-services').map((m) => parseService(m.payload)).filter((s) => s.family === 'IPv4');
  const dests = dump('ipvs-dump-dests-v4').map((m) => parseDestination(m.payload, 'IPv4'));
  const k8s = svcPort('default', 'kubernetes', 'https', { clusterIP: '10.96.0.1', port: 443 });
  const bundle = JSON.parse(ipvsTraceStateOf(makeState('IPv4', [[k8s, [ep('10.244.1.5', 8443), ep('10.244.2.6', 8443)]]]), NODE)) as IpvsTraceState;
  return JSON.stringify({ ...bundle, virtualServers: services.map((s) => traceVirtualServer(s, s.address === '10.96.0.1' ? dests : [])) });
})();

function trace(text: string, dest: string, from?: string): TraceReport {
  const d = parseDest(dest);
  return traceIpvs(text, { dest: d, from: parseFrom(from, d), nodeAddresses: [NODE], saved: true });
}

// [golden trace name, state, DEST, --from, exit code]
const CASES: readonly [string, string, string, string | undefined, 0 | 1][] = [
  ['clusterip-from-pod', saved, '10.96.0.10:80', undefined, 0],
  ['clusterip-from-node', saved, '10.96.0.10:80', 'node', 0],
  ['nodeport-external', saved, `${NODE}:30080`, 'external', 0],
  ['persistence', saved, '10.96.0.30:80', undefined, 0],
  ['no-real-servers-reject', saved, '10.96.0.70:80', undefined, 1],
  ['lb-allowed-source', saved, '198.51.100.71:80', '203.0.113.9', 0],
  ['lb-source-range-drop', saved, '198.51.100.71:80', 'external', 1],
  ['udp', saved, '10.96.0.53:53/udp', undefined, 0],
  ['no-service', saved, '10.96.0.99:80', undefined, 1],
  ['least-connection', savedLc, '10.96.0.10:80', undefined, 0],
  ['recorded-dump-weights', recorded, '10.96.0.1:443', undefined, 0],
];

describe('golden traces', () => {
  it.each(CASES)('%s', (name, text, dest, from, code) => {
    const r = trace(text, dest, from);
    const out = formatTrace(r);
    const url = new URL(`./testdata/${name}.trace`, import.meta.url);
    if (update) writeFileSync(url, out);
    expect(out).toBe(readFileSync(url, 'utf8'));
    expect(traceExitCode(r)).toBe(code);
  });
});

describe('facts an ipvs trace reports', () => {
  it('rr: each real server its weight share; lc: the scheduler decides (no probability)', () => {
    const r = trace(saved, '10.96.0.10:80');
    expect(r.endpoints.map((e) => e.probability)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(trace(savedLc, '10.96.0.10:80').endpoints.map((e) => e.probability)).toEqual([null, null]);
  });

  it('masquerade: from the node and from outside to a NodePort, not from a pod', () => {
    expect(trace(saved, '10.96.0.10:80').endpoints.every((e) => e.masquerade === null)).toBe(true);
    expect(trace(saved, '10.96.0.10:80', 'node').endpoints.every((e) => e.masquerade !== null)).toBe(true);
    expect(trace(saved, `${NODE}:30080`, 'external').endpoints.every((e) => e.masquerade !== null)).toBe(true);
  });

  it('recorded dump: rr probabilities are the weight shares (1 and 5 of 6)', () => {
    const r = trace(recorded, '10.96.0.1:443');
    expect(r.endpoints.map((e) => [e.address, e.probability])).toEqual([['10.244.1.5:8443', 1 / 6], ['10.244.2.6:8443', 5 / 6]]);
  });

  it('a hairpin (a real server to its own Service) is masqueraded by KUBE-LOOP-BACK, the other real servers are not', () => {
    const r = trace(saved, '10.96.0.10:80', '10.244.1.10');
    expect(r.endpoints.map((e) => [e.address, e.masquerade?.startsWith('yes, hairpin') ?? false])).toEqual([
      ['10.244.1.10:8080', true], ['10.244.1.11:8080', false], ['10.244.2.10:8080', false],
    ]);
  });

  it('persistence is ClientIP affinity with its timeout', () => {
    expect(trace(saved, '10.96.0.30:80').affinity).toEqual({ kind: 'ClientIP', timeoutSeconds: 10800 });
    expect(trace(saved, '10.96.0.10:80').affinity).toBeNull();
  });

  it('refuses what is not an ipvs state, in one line', () => {
    expect(recognisesIpvsState(saved)).toBe(true);
    expect(recognisesIpvsState('*nat\nCOMMIT\n')).toBe(false);
    expect(() => trace('{', '10.96.0.10:80')).toThrow(/not an ipvs trace state \(JSON/);
    expect(() => trace('{"format":"x"}', '10.96.0.10:80')).toThrow(/"format" is not/);
    expect(() => trace(saved.replace('"virtualServers": [', '"virtualServers": [{},'), '10.96.0.10:80')).toThrow(/virtualServers\[0\] needs/);
  });
});

describe('ipset membership', () => {
  const sets = parseIpsetSave([
    'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
    'add KUBE-CLUSTER-IP 10.96.0.10,tcp:80',
    'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
    'add KUBE-NODE-PORT-TCP 30080',
    'create KUBE-LOOP-BACK hash:ip,port,ip family inet',
    'add KUBE-LOOP-BACK 10.244.1.10,tcp:8080,10.244.1.10',
    'create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet',
    'add KUBE-LOAD-BALANCER-SOURCE-CIDR 198.51.100.71,tcp:80,203.0.113.0/24',
    'create KUBE-6-CLUSTER-IP hash:ip,port family inet6',
    'add KUBE-6-CLUSTER-IP fd00::10,udp:53',
  ].join('\n'));
  const has = setMembership(sets);
  const p = (src: string, dst: string, dport: number, protocol = 'tcp') => ({ src, dst, dport, protocol, inInterface: 'eth0', mark: 0, dnat: null });
  it.each([
    ['KUBE-CLUSTER-IP', ['dst', 'dst'], p('1.1.1.1', '10.96.0.10', 80), true],
    ['KUBE-CLUSTER-IP', ['dst', 'dst'], p('1.1.1.1', '10.96.0.10', 81), false],
    ['KUBE-CLUSTER-IP', ['dst', 'dst'], p('1.1.1.1', '10.96.0.10', 80, 'udp'), false],
    ['KUBE-NODE-PORT-TCP', ['dst'], p('1.1.1.1', '192.0.2.11', 30080), true],
    ['KUBE-LOOP-BACK', ['dst', 'dst', 'src'], p('10.244.1.10', '10.244.1.10', 8080), true],
    ['KUBE-LOOP-BACK', ['dst', 'dst', 'src'], p('10.244.1.11', '10.244.1.10', 8080), false],
    ['KUBE-LOAD-BALANCER-SOURCE-CIDR', ['dst', 'dst', 'src'], p('203.0.113.9', '198.51.100.71', 80), true],
    ['KUBE-LOAD-BALANCER-SOURCE-CIDR', ['dst', 'dst', 'src'], p('198.51.100.9', '198.51.100.71', 80), false],
    ['KUBE-6-CLUSTER-IP', ['dst', 'dst'], p('fd00::1', 'fd00:0::10', 53, 'udp'), true],
    ['KUBE-NO-SUCH-SET', ['dst'], p('1.1.1.1', '10.96.0.10', 80), false],
  ] as const)('%s %j %j: %s', (name, dirs, pkt, want) => {
    expect(has(name, dirs, pkt)).toBe(want);
  });
});
