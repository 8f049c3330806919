import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestTable, type ChainDigest } from './digest-table.ts';

type Op = { kind: 'set'; name: string; d: ChainDigest } | { kind: 'update'; name: string; by: number } | { kind: 'delete'; name: string };

describe('DigestTable', () => {
  it('behaves as a Map of { rules, hash } under any sequence of set, update and delete', () => {
    const name = fc.constantFrom(...Array.from({ length: 150 }, (_, i) => `KUBE-SEP-${i}`));
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), name, d: fc.record({ rules: fc.nat(1000), hash: fc.nat(0xffffffff) }) }),
      fc.record({ kind: fc.constant('update' as const), name, by: fc.nat(0xffffffff) }),
      fc.record({ kind: fc.constant('delete' as const), name }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const t = new DigestTable();
      const m = new Map<string, ChainDigest>();
      for (const o of ops) {
        if (o.kind === 'set') {
          t.set(o.name, o.d);
          m.set(o.name, { ...o.d });
        } else if (o.kind === 'update') {
          const mix = (h: number): number => (h ^ o.by) >>> 0;
          t.update(o.name, 7, mix);
          const c = m.get(o.name) ?? { rules: 0, hash: 7 };
          m.set(o.name, { rules: c.rules + 1, hash: mix(c.hash) });
        } else {
          t.delete(o.name);
          m.delete(o.name);
        }
      }
      expect(t.size).toBe(m.size);
      expect(new Map(t)).toEqual(m);
      for (const [k, v] of m) expect(t.get(k)).toEqual(v);
      expect(t.get('KUBE-SEP-none')).toBeUndefined();
    }));
  });
});
