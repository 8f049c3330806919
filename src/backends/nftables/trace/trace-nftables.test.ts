// Golden traces (testdata/*.trace; UPDATE_GOLDEN=1 rewrites them) over the nftables golden
// (../testdata/overall-v136.expected, upstream TestOverallNFTablesRules in the v1.36 layout) as
// real nft (v1.0.6) lists it back with `nft -j list ruleset` (testdata/overall-v136.json), the way
// `kube-proxy-ts trace --state` reads it; plus facts a trace must report and bad dumps.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TraceInputError } from '../../../errors.ts';
import { formatTrace } from '../../../trace/format-trace.ts';
import { parseDest, parseFrom } from '../../../trace/parse-dest.ts';
import { traceExitCode, type TraceReport } from '../../../trace/trace-types.ts';
import { holdsNftablesMode, traceNftables } from './trace-nftables.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
const DUMP = readFileSync(new URL('./testdata/overall-v136.json', import.meta.url), 'utf8');
const NODE = '192.168.0.2';

function trace(dest: string, from?: string, nodeAddresses: string[] = [NODE], text = DUMP): TraceReport {
  const d = parseDest(dest);
  return traceNftables(text, { dest: d, from: parseFrom(from, d), nodeAddresses, saved: true });
}

// [golden trace name, DEST, --from, exit code]
const CASES: readonly [string, string, string | undefined, 0 | 1][] = [
  ['clusterip-from-pod', '172.30.0.41:80', undefined, 0],
  ['clusterip-from-node-two-endpoints', '172.30.0.44:80', 'node', 0],
  ['nodeport-etp-cluster-external', `${NODE}:3003`, 'external', 0],
  ['nodeport-etp-local-no-local-endpoint-drop', `${NODE}:3001`, 'external', 1],
  ['externalip-etp-cluster-external', '192.168.99.33:80', 'external', 0],
  ['lb-affinity-allowed-range', '5.6.7.8:80', '203.0.113.5', 0],
  ['lb-source-range-drop', '5.6.7.8:80', 'external', 1],
  ['no-endpoints-reject', '172.30.0.46:80', undefined, 1],
  ['clusterip-wrong-port-reject', '172.30.0.41:81', undefined, 1],
  ['unallocated-clusterip-drop', '172.30.0.99:80', undefined, 1],
  ['hairpin', '172.30.0.44:80', '10.180.0.5', 0],
  ['no-service', '192.0.2.50:80', undefined, 1],
];

describe('golden traces over the nftables golden', () => {
  it.each(CASES)('%s', (name, dest, from, code) => {
    const r = trace(dest, from);
    const text = formatTrace(r);
    const url = new URL(`./testdata/${name}.trace`, import.meta.url);
    if (update) writeFileSync(url, text);
    expect(text).toBe(readFileSync(url, 'utf8'));
    expect(traceExitCode(r)).toBe(code);
  });
});

describe('facts an nftables trace reports', () => {
  it('numgen branches: each endpoint once, probabilities add up to one', () => {
    const r = trace('172.30.0.44:80');
    expect(r.endpoints.map((e) => e.address)).toEqual(['10.180.0.4:80', '10.180.0.5:80']);
    for (const e of r.endpoints) expect(e.probability).toBeCloseTo(0.5, 9);
    expect(r.service).toEqual({ name: 'ns4/svc4:p80', matchedAs: 'cluster IP' });
  });

  it('affinity and its timeout come from the affinity set; a source in that set goes to its endpoint', () => {
    expect(trace('172.30.0.45:80').affinity).toEqual({ kind: 'ClientIP', timeoutSeconds: 10800 });
    expect(trace('172.30.0.41:80').affinity).toBeNull();
    const doc = JSON.parse(DUMP) as { nftables: { set?: { name: string; elem?: unknown[] } }[] };
    const set = doc.nftables.find((o) => o.set?.name.startsWith('affinity-'))?.set;
    expect(set).toBeDefined();
    if (set) set.elem = [{ elem: { val: '10.0.0.7', timeout: 10800, expires: 10000 } }];
    const r = trace('172.30.0.45:80', '10.0.0.7', [NODE], JSON.stringify(doc));
    expect(r.endpoints.map((e) => [e.address, e.probability])).toEqual([['10.180.0.3:80', 1]]);
    expect(r.notes).toContain('the source is in affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 (ClientIP affinity): its new connections go to that endpoint until the entry expires');
  });

  it('masquerade: not for a pod, yes from outside the cluster CIDR, yes for ETP Cluster from outside', () => {
    expect(trace('172.30.0.41:80').endpoints[0]?.masquerade).toBeNull();
    expect(trace('172.30.0.41:80', '192.168.0.9').endpoints[0]?.masquerade).toBe('yes, the source is outside the cluster CIDR 10.0.0.0/8');
    expect(trace(`${NODE}:3003`, 'external').endpoints[0]?.masquerade).toMatch(/externalTrafficPolicy Cluster/);
    expect(trace('172.30.0.44:80', '10.180.0.5').endpoints.map((e) => e.masquerade)).toEqual([null, 'yes, hairpin (the endpoint connects to itself through the Service)']);
  });

  it('another family is another table: an IPv6 question on an IPv4-only dump is bad input', () => {
    expect(() => trace('[fd00::1]:80')).toThrow(TraceInputError);
  });

  it('recognises its dumps and refuses others with one line', () => {
    expect(holdsNftablesMode(DUMP)).toBe(true);
    expect(holdsNftablesMode('*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n')).toBe(false);
    expect(holdsNftablesMode('{"nftables":[{"table":{"family":"ip","name":"filter"}}]}')).toBe(false);
    expect(() => trace('172.30.0.41:80', undefined, [], '{"nftables": 3}')).toThrow(/not an nft -j dump/);
    expect(() => trace('172.30.0.41:80', undefined, [], 'garbage')).toThrow(TraceInputError);
  });

  it('a rule it cannot evaluate is skipped and named, never guessed', () => {
    const doc = JSON.parse(DUMP) as { nftables: Record<string, unknown>[] };
    const at = doc.nftables.findIndex((o) => o['rule'] !== undefined);
    doc.nftables.splice(at, 0, { rule: { family: 'ip', table: 'kube-proxy', chain: 'filter-prerouting-pre-dnat', handle: 999, expr: [{ match: { op: '==', left: { osf: { key: 'name' } }, right: 'Linux' } }, { drop: null }] } });
    const r = trace('172.30.0.41:80', undefined, [NODE], JSON.stringify(doc));
    expect(r.verdict).toBe('DNAT');
    expect(r.notes.some((n) => n.startsWith('not evaluated: filter-prerouting-pre-dnat: expression {"osf"'))).toBe(true);
  });
});
