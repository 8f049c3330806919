import { describe, expect, it } from 'vitest';
import { TokenBucket, effectiveRateLimit } from './token-bucket.ts';

/** Reserve at each time (ms) in order; the waits the bucket asks for. */
function waits(qps: number, burst: number, times: readonly number[]): number[] {
  let now = 0;
  const bucket = new TokenBucket({ qps, burst }, () => now);
  return times.map((t) => {
    now = t;
    return bucket.reserve();
  });
}

describe('TokenBucket (client-go flowcontrol token bucket)', () => {
  it.each([
    ['a full burst goes at once, then one per 1/qps', 5, 3, [0, 0, 0, 0, 0], [0, 0, 0, 200, 400]],
    ['tokens accrue while idle, up to burst', 2, 2, [0, 0, 10_000, 10_000, 10_000], [0, 0, 0, 0, 500]],
    ['queued callers wait in order', 1, 1, [0, 0, 0, 500], [0, 1000, 2000, 2500]],
    ['fractional qps', 0.5, 1, [0, 1000, 2000], [0, 1000, 2000]],
    ['a clock going backwards refills nothing', 1, 1, [1000, 0], [0, 1000]],
  ])('%s', (_label, qps, burst, times, want) => {
    expect(waits(qps, burst, times)).toEqual(want);
  });

  it('rejects a limit that would never let a request through', () => {
    expect(() => new TokenBucket({ qps: 0, burst: 1 }, () => 0)).toThrow(RangeError);
  });
});

describe('effectiveRateLimit (client-go rest.RESTClientFor defaults)', () => {
  it.each([
    [5, 10, { qps: 5, burst: 10 }],
    [0, 0, { qps: 5, burst: 10 }],
    [50, 0, { qps: 50, burst: 10 }],
    [0.5, 1, { qps: 0.5, burst: 1 }],
    [-1, 10, null],
  ])('qps %s burst %s → %j', (qps, burst, want) => {
    expect(effectiveRateLimit(qps, burst)).toEqual(want);
  });
});
