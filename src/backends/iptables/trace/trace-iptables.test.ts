// Golden traces (testdata/*.trace; UPDATE_GOLDEN=1 rewrites them) over the iptables mode's golden
// rulesets (../testdata/*.golden), as `kube-proxy-ts trace --state` prints them, plus the same
// rulesets as iptables-save prints them back (counters, other option order) and bad dumps.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TraceInputError } from '../../../errors.ts';
import { formatTrace } from '../../../trace/format-trace.ts';
import { parseDest, parseFrom } from '../../../trace/parse-dest.ts';
import { traceExitCode, type TraceReport } from '../../../trace/trace-types.ts';
import { holdsIptablesMode, traceIptables } from './trace-iptables.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
const ruleset = (name: string): string => readFileSync(new URL(`../testdata/${name}.golden`, import.meta.url), 'utf8');

function trace(text: string, dest: string, from?: string, nodeAddresses: string[] = []): TraceReport {
  const d = parseDest(dest);
  return traceIptables(text, { dest: d, from: parseFrom(from, d), nodeAddresses, saved: true });
}

const NODE = '192.168.0.2';
// [golden trace name, ruleset, DEST, --from, node addresses, exit code]
const CASES: readonly [string, string, string, string | undefined, string[], 0 | 1][] = [
  ['clusterip-from-pod', 'clusterip-basic', '172.30.0.41:80', undefined, [], 0],
  ['clusterip-from-node', 'nodeport-three-endpoints', '172.30.0.41:53/udp', 'node', [NODE], 0],
  ['nodeport-etp-cluster-external', 'nodeport-three-endpoints', `${NODE}:30080/udp`, 'external', [NODE], 0],
  ['nodeport-etp-local-external', 'etp-local', `${NODE}:3001`, 'external', [NODE], 0],
  ['lb-affinity-allowed-range', 'lb-fw-affinity', '5.6.7.8:80', '192.168.0.9', [], 0],
  ['lb-source-range-drop', 'lb-fw-affinity', '5.6.7.8:80', 'external', [], 1],
  ['no-endpoints-reject', 'clusterip-no-endpoints', '172.30.0.41:80', undefined, [], 1],
  ['no-service', 'clusterip-basic', '172.30.0.99:80', undefined, [], 1],
  ['ipv6-sctp', 'ipv6-nodeport-sctp', '[fd00:172:30::41]:80/sctp', undefined, [], 0],
];

describe('golden traces', () => {
  it.each(CASES)('%s', (name, rules, dest, from, nodes, code) => {
    const r = trace(ruleset(rules), dest, from, nodes);
    const text = formatTrace(r);
    const url = new URL(`./testdata/${name}.trace`, import.meta.url);
    if (update) writeFileSync(url, text);
    expect(text).toBe(readFileSync(url, 'utf8'));
    expect(traceExitCode(r)).toBe(code);
  });
});

describe('facts a trace reports', () => {
  it('probabilities of a Service add up to one; each endpoint once', () => {
    const r = trace(ruleset('nodeport-three-endpoints'), '172.30.0.41:53/udp');
    expect(r.endpoints.map((e) => e.address)).toEqual(['10.180.0.1:53', '10.180.0.2:53', '10.180.0.3:53']);
    expect(r.endpoints.reduce((s, e) => s + (e.probability ?? 0), 0)).toBeCloseTo(1, 9);
    for (const e of r.endpoints) expect(e.probability).toBeCloseTo(1 / 3, 6);
  });

  it('affinity and its timeout come from the recent rules', () => {
    expect(trace(ruleset('lb-fw-affinity'), '172.30.0.41:80').affinity).toEqual({ kind: 'ClientIP', timeoutSeconds: 300 });
    expect(trace(ruleset('clusterip-basic'), '172.30.0.41:80').affinity).toBeNull();
  });

  it('a hairpin (an endpoint to its own Service) is masqueraded, other pods are not', () => {
    const r = trace(ruleset('clusterip-basic'), '172.30.0.41:80', '10.180.0.1');
    expect(r.endpoints[0]?.masquerade).toMatch(/hairpin/);
    expect(trace(ruleset('clusterip-basic'), '172.30.0.41:80', '10.180.0.9').endpoints[0]?.masquerade).toBeNull();
  });
});

/** A ruleset the way iptables-nft-save prints it back: counters, `/32`, --set-xmark, --reject-with. */
function asSaved(restore: string): string {
  return restore
    .replace(/^:(\S+) (\S+) \[0:0\]$/gm, (_m, c: string, p: string) => `:${c} ${p} [7:420]`)
    .replace(/ -d (\d+\.\d+\.\d+\.\d+) /g, ' -d $1/32 ')
    .replace(/--or-mark 0x4000/g, '--set-xmark 0x4000/0x4000')
    .replace(/-j REJECT$/gm, '-j REJECT --reject-with icmp-port-unreachable')
    .replace(/-m recent --name (\S+) --set/g, '-m recent --set --name $1 --mask 255.255.255.255 --rsource');
}

describe('an iptables-save of a node', () => {
  const builtins = '*nat\n:PREROUTING ACCEPT [10:600]\n:OUTPUT ACCEPT [3:180]\n:POSTROUTING ACCEPT [3:180]\n' +
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n' +
    '-A PREROUTING -m set --match-set cni-hosts src -j RETURN\n' +
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n' +
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\nCOMMIT\n';

  it('traces the same as the payload it came from, and names a rule it cannot evaluate', () => {
    for (const name of ['lb-fw-affinity', 'clusterip-no-endpoints', 'etp-local']) {
      const restore = ruleset(name);
      const saved = asSaved(restore).replace('*nat\n', builtins.replace('COMMIT\n', '').replace('*nat\n', '*nat\n'));
      expect(holdsIptablesMode(saved) || !saved.includes(':KUBE-NODEPORTS ')).toBe(true);
      for (const [dest, from] of [['5.6.7.8:80', 'external'], ['172.30.0.41:80', undefined], [`${NODE}:3001`, 'external']] as const) {
        const a = trace(restore, dest, from, [NODE]);
        const b = trace(saved, dest, from, [NODE]);
        expect({ ...b, notes: [] }, `${name} ${dest}`).toEqual({ ...a, notes: [] });
        expect(b.notes.some((n) => n.includes('--match-set') && n.includes('not evaluated'))).toBe(true);
      }
    }
  });

  it('refuses what is not an iptables-save, in one line', () => {
    expect(() => trace('hello\n', '10.0.0.1:80')).toThrow(TraceInputError);
    expect(() => trace('hello\n', '10.0.0.1:80')).toThrow(/not an iptables-save dump: line 1/);
    expect(() => trace('*filter\nCOMMIT\n', '10.0.0.1:80')).toThrow(/no iptables-mode rules/);
  });
});
