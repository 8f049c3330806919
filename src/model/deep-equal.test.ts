import { describe, expect, it } from 'vitest';
import { deepEqual } from './deep-equal.ts';

describe('deepEqual', () => {
  it.each<[string, unknown, unknown, boolean]>([
    ['same primitives', 1, 1, true],
    ['different primitives', 1, 2, false],
    ['undefined vs null', undefined, null, false],
    ['equal nested', { a: [1, { b: 'x' }], c: undefined }, { a: [1, { b: 'x' }], c: undefined }, true],
    ['different nested', { a: [1, { b: 'x' }] }, { a: [1, { b: 'y' }] }, false],
    ['missing vs undefined key', { a: 1, b: undefined }, { a: 1, c: undefined }, false],
    ['array vs object', [], {}, false],
    ['array lengths', [1], [1, 2], false],
    ['extra key', { a: 1 }, { a: 1, b: 2 }, false],
  ])('%s', (_n, a, b, want) => {
    expect(deepEqual(a, b)).toBe(want);
    expect(deepEqual(b, a)).toBe(want);
  });
});
