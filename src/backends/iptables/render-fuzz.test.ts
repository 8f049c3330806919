// Hostile services (names at and past the length limits, odd characters, odd ports, every
// feature switched on at random) must still give a payload iptables-restore can tokenize:
// no unquoted space inside a value, no control characters, comments within 255 bytes, every
// jump resolving, and every rule understood by the tracer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint, Protocol, ServicePort } from '../../model/types.ts';
import { compileRuleset } from './trace/packet-tracer.ts';
import { renderRules } from './render.ts';
import { parseRestore, tokenize } from './trace/restore-parse.ts';
import { checkJumps } from './testing/consistency.ts';
import { ep, makeState, svcPort, upstreamOptions } from './testing/fixtures.ts';

const hostileChar = fc.constantFrom(' ', '"', '\\', "'", 'a', 'z', '0', '-', '.', ':', '/', '\n', '\t', 'é', '\u0000', '#', '!');
const hostileText = fc.oneof(
  fc.string({ unit: hostileChar, minLength: 1, maxLength: 70 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 70 }),
  fc.constant('a'.repeat(63)),
);
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join('.'));
const port = fc.integer({ min: 1, max: 65535 });

const service = fc.record({
  ns: hostileText, name: hostileText, portName: fc.oneof(fc.constant(''), hostileText),
  protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'), clusterIP: ipv4, port, nodePort: fc.oneof(fc.constant(0), port),
  externalIPs: fc.array(ipv4, { maxLength: 2 }), lbs: fc.array(ipv4, { maxLength: 2 }),
  ranges: fc.array(ipv4.map((ip) => `${ip}/32`), { maxLength: 2 }), etp: fc.boolean(), itp: fc.boolean(),
  affinity: fc.boolean(), hc: fc.oneof(fc.constant(0), port),
  eps: fc.array(fc.record({ ip: ipv4, port, local: fc.boolean(), ready: fc.boolean(), terminating: fc.boolean() }), { maxLength: 4 }),
});

function build(s: {
  ns: string; name: string; portName: string; protocol: Protocol; clusterIP: string; port: number; nodePort: number;
  externalIPs: string[]; lbs: string[]; ranges: string[]; etp: boolean; itp: boolean; affinity: boolean; hc: number;
  eps: Array<{ ip: string; port: number; local: boolean; ready: boolean; terminating: boolean }>;
}): readonly [ServicePort, readonly Endpoint[]] {
  const sp = svcPort(s.ns, s.name, s.portName, {
    protocol: s.protocol, clusterIP: s.clusterIP, port: s.port, nodePort: s.nodePort, externalIPs: s.externalIPs,
    loadBalancerVIPs: s.lbs, loadBalancerSourceRanges: s.ranges, externalPolicyLocal: s.etp, internalPolicyLocal: s.itp,
    sessionAffinity: s.affinity ? { type: 'ClientIP', timeoutSeconds: 10800 } : { type: 'None', timeoutSeconds: 0 },
    healthCheckNodePort: s.hc,
  });
  return [sp, s.eps.map((e) => ep(e.ip, e.port, { isLocal: e.local, ready: e.ready, serving: e.ready || e.terminating, terminating: e.terminating }))];
}

describe('renderer fuzz', () => {
  it('always emits a well-formed, consistent payload', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.array(service, { minLength: 1, maxLength: 6 }), fc.boolean(), (svcs, large) => {
        const state = makeState('IPv4', svcs.map(build));
        const { payload, stats } = renderRules(state, upstreamOptions('IPv4', { largeClusterEndpointsThreshold: large ? 0 : 1000 }));
        // The plan counts the chain rules without writing them (render-service.ts); the writer
        // (render-chains.ts) must agree, or the nat-rules metrics would lie.
        const count = (table: string, prefix: string): number => table.split('\n').filter((l) => l.startsWith(prefix)).length;
        expect(count(payload.nat, '-A ')).toBe(stats.natRulesWritten);
        expect(count(payload.nat, ':')).toBe(stats.natChainsWritten);
        expect(count(payload.filter, '-A ')).toBe(stats.filterRules);
        for (const line of payload.text.split('\n')) {
          if (!/^[\x20-\x7e]*$/.test(line)) expect.fail(`control/non-ASCII char in ${JSON.stringify(line)}`);
          const toks = tokenize(line);
          const ci = toks.indexOf('--comment');
          if (ci >= 0) {
            const comment = toks[ci + 1] ?? '';
            if (comment.length > 255) expect.fail(`comment over 255 bytes: ${line}`);
            // The token after the comment is an option, so the comment did not spill over.
            const next = toks[ci + 2];
            if (next !== undefined && !next.startsWith('-') && next !== '!') expect.fail(`comment spilled over: ${line}`);
          }
        }
        expect(checkJumps(parseRestore(payload.text))).toEqual([]);
        compileRuleset(payload.text);
      }),
      { numRuns: 150, endOnFailure: true },
    );
  });

  it('the check catches an unquoted space in a comment', () => {
    const toks = tokenize('-A KUBE-SEP-X -m comment --comment ns/a b -s 1.2.3.4 -j KUBE-MARK-MASQ');
    expect(toks[toks.indexOf('--comment') + 2]?.startsWith('-')).toBe(false);
  });
});
