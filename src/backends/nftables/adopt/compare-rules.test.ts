import { describe, expect, it } from 'vitest';
import { encodeAttrs, type Attr } from '../../../netlink/attrs.ts';
import { encodeExpr } from '../../../netlink/nftables/expr.ts';
import { compileRule } from '../compile/rule.ts';
import { sameRule } from './compare-rules.ts';
import { layoutMismatch } from './plan-adoption.ts';
import type { KernelChain } from './kernel-table.ts';

const ids = () => {
  let n = 0;
  return { next: () => ++n, anonName: () => '__map%d', elementsById: false };
};
/** A rule as the kernel would dump it: our expressions, flags stripped, `extra` attributes appended to expression `at`. */
function kernelRule(body: string, extra: Attr[] = [], at = -1) {
  const r = compileRule('ip', body, ids());
  if (r === null) throw new Error(body);
  const strip = (a: Attr): Attr => ({ type: a.type & 0x3fff, value: a.value instanceof Uint8Array ? a.value : a.value.map(strip) });
  const exprs = r.exprs.map((e, i) => {
    const [name, data] = (strip(encodeExpr(e)).value as Attr[]);
    return { type: 1, value: [name as Attr, { type: 2, value: [...((data as Attr).value as Attr[]), ...(i === at ? extra : [])] }] };
  });
  return { exprs: encodeAttrs(exprs) };
}
const be32 = (type: number, v: number): Attr => ({ type, value: Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255) });

describe('sameRule', () => {
  const body = 'meta l4proto tcp dnat to 10.244.0.3:8080';
  const ours = compileRule('ip', body, ids());
  it.each([
    ['identical', kernelRule(body), true],
    ['a zero attribute only the kernel dumps', kernelRule(body, [be32(9, 0)], 0), true],
    ['a non-zero attribute only the kernel dumps', kernelRule(body, [be32(9, 5)], 0), false],
    ['another endpoint', kernelRule('meta l4proto tcp dnat to 10.244.0.4:8080'), false],
    ['another protocol', kernelRule('meta l4proto udp dnat to 10.244.0.3:8080'), false],
    ['a comment the kernel has and we do not', { ...kernelRule(body), userdata: Uint8Array.of(0, 2, 120, 0) }, false],
  ])('%s', (_what, kernel, want) => {
    expect(sameRule(ours as NonNullable<typeof ours>, kernel, new Map())).toBe(want);
  });
});

describe('layoutMismatch', () => {
  const chain = (name: string, hook?: KernelChain['hook']): [string, KernelChain] => [name, { name, ...(hook ? { hook } : {}), rules: [] }];
  it.each([
    ['our layout', [chain('nat-prerouting', { num: 0, priority: -100, type: 'nat' }), chain('services')], null],
    ['another priority', [chain('nat-prerouting', { num: 0, priority: -50, type: 'nat' })], /nat-prerouting/],
    ['an unknown base chain', [chain('old-hook', { num: 1, priority: 0, type: 'filter' })], /unknown base chain old-hook/],
  ])('%s', (_what, chains, want) => {
    const got = layoutMismatch({ chains: new Map(chains as [string, KernelChain][]), sets: new Map() });
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });
});
