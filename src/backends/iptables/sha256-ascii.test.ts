import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256AsciiHead } from './sha256-ascii.ts';

function reference(s: string): number[] {
  const d = sha256(new TextEncoder().encode(s));
  const v = new DataView(d.buffer, d.byteOffset, 12);
  return [v.getInt32(0), v.getInt32(4), v.getInt32(8)];
}

describe('sha256AsciiHead', () => {
  const out = new Int32Array(3);
  it.each([0, 1, 54, 55, 56, 63, 64, 65, 119, 120, 200])('matches the general hasher at length %i (padding edges)', (n) => {
    const s = 'abcdefghij'.repeat(21).slice(0, n);
    expect(sha256AsciiHead(s, out)).toBe(true);
    expect([...out]).toEqual(reference(s));
  });

  it('matches the general hasher on random ASCII', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 300 }), (s) => {
      expect(sha256AsciiHead(s, out)).toBe(true);
      expect([...out]).toEqual(reference(s));
    }), { numRuns: 500 });
  });

  it('refuses non-ASCII so the caller uses the general hasher', () => {
    expect(sha256AsciiHead('ns/é:p', out)).toBe(false);
  });
});
