// When to start the kernel relay engine's worker again after it died (io/kernel-relay.ts): soon
// after a first failure, so TCP service comes back in a blink, then twice as long per failure in a
// row, up to a cap, so a worker that dies at every start costs a few starts a minute, not a core.
// A worker that stayed up long enough counts as healthy: the next failure starts over.
// Pure: the caller measures time.

export interface RestartBackoff {
  /** Delay before the first restart (default 100 ms). */
  readonly baseMs: number;
  /** The longest delay (default 30 s). */
  readonly maxMs: number;
  /** A worker up at least this long resets the count of failures in a row (default 60 s). */
  readonly stableMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { baseMs: 100, maxMs: 30_000, stableMs: 60_000 };

/**
 * The failures in a row once a worker that ran `upMs` died, given those before it: 1 after a
 * stable run, one more otherwise.
 */
export function failuresInRow(previous: number, upMs: number, b: RestartBackoff): number {
  return upMs >= b.stableMs ? 1 : previous + 1;
}

/** The wait before restarting after `failures` in a row (1 = the first). */
export function restartDelayMs(failures: number, b: RestartBackoff): number {
  const n = Math.max(1, failures);
  // 2^(n-1) overflows to Infinity long before it matters; the cap bounds it.
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.min(n - 1, 52));
}
