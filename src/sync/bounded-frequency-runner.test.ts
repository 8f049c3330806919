import { describe, expect, it } from 'vitest';
import { BoundedFrequencyRunner, type RunnerErrorInfo } from './bounded-frequency-runner.ts';
import { FakeClock, settle } from './testing/fake-clock.ts';

interface Harness {
  clock: FakeClock;
  runner: BoundedFrequencyRunner;
  starts: number[];
  errors: RunnerErrorInfo[];
}

function harness(opts: { min: number; max: number; fail?: (n: number) => boolean; durationMs?: number }): Harness {
  const clock = new FakeClock(0);
  const starts: number[] = [];
  const errors: RunnerErrorInfo[] = [];
  const runner = new BoundedFrequencyRunner({
    name: 'test',
    clock,
    minIntervalMs: opts.min,
    maxIntervalMs: opts.max,
    retryMaxMs: 8_000,
    fn: async () => {
      starts.push(clock.now());
      const n = starts.length;
      if (opts.durationMs !== undefined) {
        await new Promise<void>((resolve) => clock.setTimer(opts.durationMs ?? 0, resolve));
      }
      if (opts.fail?.(n) === true) throw new Error(`run ${n} failed`);
    },
    onError: (_err, info) => errors.push(info),
  });
  return { clock, runner, starts, errors };
}

describe('BoundedFrequencyRunner', () => {
  it('coalesces a burst of 1,000 requests into one run', async () => {
    const h = harness({ min: 1000, max: 30_000 });
    for (let i = 0; i < 1000; i++) h.runner.run();
    await h.clock.advance(0);
    expect(h.starts).toEqual([0]);
    await h.clock.advance(29_000);
    expect(h.starts).toEqual([0]);
  });

  it('spreads requests over time at most once per minInterval', async () => {
    const h = harness({ min: 1000, max: 30_000 });
    // One request every 10 ms for 5 s: 500 requests.
    for (let t = 0; t < 5000; t += 10) {
      h.runner.run();
      await h.clock.advance(10);
    }
    await h.clock.advance(2000);
    expect(h.starts.length).toBeLessThanOrEqual(6);
    expect(h.starts.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < h.starts.length; i++) {
      expect((h.starts[i] ?? 0) - (h.starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  });

  it.each([
    { name: 'request just after a run waits for minInterval', at: 100, expectSecond: 1000 },
    { name: 'request after minInterval runs at once', at: 1500, expectSecond: 1500 },
  ])('$name', async ({ at, expectSecond }) => {
    const h = harness({ min: 1000, max: 30_000 });
    h.runner.run();
    await h.clock.advance(at);
    h.runner.run();
    await h.clock.advance(5000);
    expect(h.starts).toEqual([0, expectSecond]);
  });

  it('never runs concurrently; a request during a run schedules one after it', async () => {
    const h = harness({ min: 500, max: 60_000, durationMs: 2000 });
    let active = 0;
    let maxActive = 0;
    const inner = new BoundedFrequencyRunner({
      name: 'concurrency',
      clock: h.clock,
      minIntervalMs: 500,
      maxIntervalMs: 60_000,
      fn: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        h.starts.push(h.clock.now());
        await new Promise<void>((resolve) => h.clock.setTimer(2000, resolve));
        active--;
      },
    });
    inner.run();
    await h.clock.advance(100);
    inner.run();
    inner.run();
    await h.clock.advance(100);
    expect(h.starts).toEqual([0]);
    // First ends at 2000, the coalesced one starts 500 ms after it.
    await h.clock.advance(5000);
    expect(h.starts).toEqual([0, 2500]);
    expect(maxActive).toBe(1);
  });

  it('runs periodically at maxInterval without requests', async () => {
    const h = harness({ min: 1000, max: 10_000 });
    h.runner.run();
    await h.clock.advance(35_000);
    expect(h.starts).toEqual([0, 10_000, 20_000, 30_000]);
  });

  it('retries a failed run with doubling backoff, capped, and resets after success', async () => {
    // Runs 1-5 fail, then success.
    const h = harness({ min: 1000, max: 60_000, fail: (n) => n <= 5 });
    h.runner.run();
    await h.clock.advance(30_000);
    // Backoff: 1 s, 2 s, 4 s, 8 s (cap), 8 s.
    expect(h.starts).toEqual([0, 1000, 3000, 7000, 15_000, 23_000]);
    expect(h.errors.map((e) => e.failures)).toEqual([1, 2, 3, 4, 5]);
    expect(h.errors.map((e) => e.retryInMs)).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(h.runner.failures).toBe(0);
    // Back to periodic after the success.
    await h.clock.advance(60_000);
    expect(h.starts.at(-1)).toBe(83_000);
  });

  it('does not let requests shorten a retry backoff', async () => {
    const h = harness({ min: 100, max: 60_000, fail: (n) => n === 1 });
    h.runner.run();
    await h.clock.advance(0);
    for (let i = 0; i < 5; i++) {
      h.runner.run();
      await h.clock.advance(150);
    }
    expect(h.starts).toEqual([0]);
    await h.clock.advance(500);
    expect(h.starts).toEqual([0, 1000]);
  });

  it('stop cancels timers and waits for the run in flight', async () => {
    const h = harness({ min: 100, max: 1000, durationMs: 500 });
    h.runner.run();
    await h.clock.advance(0);
    let stopped = false;
    const p = h.runner.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);
    await h.clock.advance(500);
    await p;
    expect(stopped).toBe(true);
    h.runner.run();
    await h.clock.advance(10_000);
    expect(h.starts).toEqual([0]);
    expect(h.clock.pendingTimers()).toBe(0);
  });

  it('rejects maxInterval < minInterval as upstream does', () => {
    const clock = new FakeClock(0);
    expect(
      () => new BoundedFrequencyRunner({ name: 'x', clock, minIntervalMs: 10, maxIntervalMs: 5, fn: async () => {} }),
    ).toThrow(RangeError);
  });
});
