import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_BACKOFF, failuresInRow, restartDelayMs } from './restart-backoff.ts';

const b = { baseMs: 100, maxMs: 1_000, stableMs: 5_000 };

describe('relay worker restart back-off', () => {
  it.each([
    { failures: 0, want: 100 },
    { failures: 1, want: 100 },
    { failures: 2, want: 200 },
    { failures: 3, want: 400 },
    { failures: 4, want: 800 },
    { failures: 5, want: 1_000 },
    { failures: 10_000, want: 1_000 },
  ])('after $failures failures in a row waits $want ms', ({ failures, want }) => {
    expect(restartDelayMs(failures, b)).toBe(want);
  });

  it.each([
    { previous: 0, upMs: 10, want: 1 },
    { previous: 3, upMs: 10, want: 4 },
    { previous: 3, upMs: 4_999, want: 4 },
    { previous: 3, upMs: 5_000, want: 1 },
    { previous: 9, upMs: 60_000, want: 1 },
  ])('a worker up $upMs ms after $previous failures makes $want', ({ previous, upMs, want }) => {
    expect(failuresInRow(previous, upMs, b)).toBe(want);
  });

  it('defaults start fast and stay bounded', () => {
    expect(restartDelayMs(1, DEFAULT_RESTART_BACKOFF)).toBe(100);
    expect(restartDelayMs(100, DEFAULT_RESTART_BACKOFF)).toBe(30_000);
  });
});
