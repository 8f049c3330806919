import { describe, expect, it } from 'vitest';
import { ChunkJoiner, RestorePayload } from './render-payload.ts';
import { renderRules } from './render.ts';
import { upstreamOptions } from './testing/fixtures.ts';
import { overallState } from './testing/upstream-cases.ts';

describe('ChunkJoiner', () => {
  it.each([
    [['a', 'b', 'c'], ['abc']],
    [['a', 'x'.repeat(70_000), 'b'], ['a', 'x'.repeat(70_000), 'b']],
    [[...Array.from({ length: 3 }, () => 'y'.repeat(40_000)), 'z'], ['y'.repeat(80_000), 'y'.repeat(40_000) + 'z']],
    [[], []],
  ])('merges small pieces, keeps big ones, in order (%#)', (pieces, want) => {
    const out: string[] = [];
    const j = new ChunkJoiner(out);
    for (const p of pieces) j.add(p);
    j.end();
    expect(out).toEqual(want);
  });
});

describe('RestorePayload', () => {
  it('joins its chunks on demand; filter and nat split at the table boundary', () => {
    const p = new RestorePayload(['*filter\nCOMMIT\n', '*nat\n', ':A - [0:0]\nCOMMIT\n'], 1);
    expect(p.text).toBe('*filter\nCOMMIT\n*nat\n:A - [0:0]\nCOMMIT\n');
    expect(p.filter).toBe('*filter\nCOMMIT\n');
    expect(p.nat).toBe('*nat\n:A - [0:0]\nCOMMIT\n');
  });

  it('a render is the filter table as its first chunk, then nat chunks ending in COMMIT', () => {
    const { payload } = renderRules(overallState(), upstreamOptions());
    expect(payload.chunks[0]).toBe(payload.filter);
    expect(payload.filter.startsWith('*filter\n') && payload.filter.endsWith('COMMIT\n')).toBe(true);
    expect(payload.nat.startsWith('*nat\n') && payload.nat.endsWith('COMMIT\n')).toBe(true);
    expect(payload.chunks.join('')).toBe(payload.text);
  });
});
