import { describe, expect, it } from 'vitest';
import { detached, LineSplitter } from './line-splitter.ts';

describe('LineSplitter', () => {
  const text = ['*nat', ':KUBE-SERVICES - [0:0]', '-A KUBE-SERVICES -j RETURN', '', 'COMMIT', 'last without newline'].join('\n');
  it.each([1, 2, 3, 10, 1000, 70_000])('chunks of %i give every line once, in order', (size) => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
    s.end();
    expect(got).toEqual(text.split('\n'));
  });

  it('a chunk larger than a slice is cut without losing lines', () => {
    const big = Array.from({ length: 20_000 }, (_, i) => `-A KUBE-SEP-${i} -j DNAT --to-destination 10.244.${i % 256}.1:80`).join('\n') + '\n';
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    s.push(big);
    s.end();
    expect(got).toEqual(big.split('\n').slice(0, -1));
  });

  it('detached keeps the text', () => {
    const s = 'x'.repeat(100).slice(10, 60);
    expect(detached(s)).toBe(s);
  });
});
