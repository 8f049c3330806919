import { describe, expect, it } from 'vitest';
import { RestorePayload } from './render-payload.ts';
import { renderRules } from './render.ts';
import { bigState } from './testing/scale.ts';
import { upstreamOptions } from './testing/fixtures.ts';
import { overallState } from './testing/upstream-cases.ts';

describe('RestorePayload', () => {
  it('is the filter table, then the nat chunks; joins on demand', () => {
    const p = new RestorePayload('*filter\nCOMMIT\n', () => ['*nat\n', ':A - [0:0]\nCOMMIT\n']);
    expect([...p.chunks]).toEqual(['*filter\nCOMMIT\n', '*nat\n', ':A - [0:0]\nCOMMIT\n']);
    expect(p.text).toBe('*filter\nCOMMIT\n*nat\n:A - [0:0]\nCOMMIT\n');
    expect(p.filter).toBe('*filter\nCOMMIT\n');
    expect(p.nat).toBe('*nat\n:A - [0:0]\nCOMMIT\n');
  });

  it('a render is the filter table as its first chunk, then nat chunks ending in COMMIT', () => {
    const { payload } = renderRules(overallState(), upstreamOptions());
    expect([...payload.chunks][0]).toBe(payload.filter);
    expect(payload.filter.startsWith('*filter\n') && payload.filter.endsWith('COMMIT\n')).toBe(true);
    expect(payload.nat.startsWith('*nat\n') && payload.nat.endsWith('COMMIT\n')).toBe(true);
    expect([...payload.chunks].join('')).toBe(payload.text);
  });

  it('a big payload comes in many bounded chunks, the same on every iteration', () => {
    const { payload } = renderRules(bigState(300, 10), upstreamOptions());
    const first = [...payload.chunks];
    const second = [...payload.chunks];
    expect(second).toEqual(first);
    expect(first.length).toBeGreaterThan(3);
    // Each nat chunk is one LineChunks window (2048 lines, well under 1 MB), never the table.
    for (const c of first.slice(1)) expect(c.length).toBeLessThan(512 * 1024);
    expect(first.slice(1).every((c) => c.endsWith('\n'))).toBe(true);
  });

  it.each([1, 32, 5000])('chunksOf(%i) is the same text, in more chunks the fewer lines each', (lines) => {
    const { payload } = renderRules(bigState(300, 10), upstreamOptions());
    const small = [...payload.chunksOf(lines)];
    const usual = [...payload.chunks];
    expect(small.join('')).toBe(payload.text);
    expect(small[0]).toBe(payload.filter);
    if (lines < 512) expect(small.length).toBeGreaterThan(usual.length * 4);
    else expect(small.length).toBeLessThanOrEqual(usual.length);
  });

  it('can be stopped part-way (a restore that failed mid-way)', () => {
    const { payload } = renderRules(bigState(300, 10), upstreamOptions());
    const it = payload.chunks[Symbol.iterator]();
    expect(it.next().value).toBe(payload.filter);
    const firstNat = it.next().value as string;
    expect(firstNat.startsWith('*nat\n')).toBe(true);
    // Stopping early is allowed (a restore that failed mid-way): the rest is never made.
    expect(it.return?.().done).toBe(true);
  });
});
