import { describe, expect, it } from 'vitest';
import { Interner } from './interner.ts';

/** A string equal to `s` but built at run time, so it is not the same literal. */
const copy = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

describe('Interner', () => {
  it('holds one copy per distinct string', () => {
    const i = new Interner();
    for (const s of ['node-a', copy('node-a'), 'node-b', copy('node-b'), copy('node-a')]) i.intern(s);
    expect(i.size).toBe(2);
    expect(i.intern(copy('node-a'))).toBe('node-a');
  });

  it('starts over at its limit instead of growing', () => {
    const i = new Interner(3);
    for (const s of ['a', 'b', 'c', 'd', 'e']) i.intern(s);
    expect(i.size).toBe(2);
    expect(i.intern('e')).toBe('e');
  });
});
