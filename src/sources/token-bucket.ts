// client-go's client-side rate limit (util/flowcontrol NewTokenBucketRateLimiter over
// golang.org/x/time/rate): a bucket of `burst` tokens, full at start, refilled at `qps` per second;
// each API request takes one and, when none is left, waits until its token has accrued. Requests
// are served in order (a reservation is taken at once, so later callers queue behind it). This is
// clientConnection.qps / burst (--kube-api-qps / --kube-api-burst). Pure: the clock is passed in.

export interface RateLimit {
  readonly qps: number;
  readonly burst: number;
}

/** client-go rest defaults (DefaultQPS, DefaultBurst) for a zero QPS or burst. */
export const DEFAULT_RATE_LIMIT: RateLimit = { qps: 5, burst: 10 };

export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(limit: RateLimit, now: () => number) {
    if (!(limit.qps > 0) || !(limit.burst >= 1)) throw new RangeError(`token bucket needs qps > 0 and burst >= 1, got ${limit.qps}/${limit.burst}`);
    this.#qps = limit.qps;
    this.#burst = limit.burst;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#last = now();
  }

  /** Take a token; how many milliseconds the caller must wait before using it (0: at once). */
  reserve(): number {
    const t = this.#now();
    if (t > this.#last) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((t - this.#last) * this.#qps) / 1000);
      this.#last = t;
    }
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#qps);
  }
}

/**
 * The limit client-go would apply for a configured qps/burst (rest.RESTClientFor): zero means the
 * default; a negative qps means no limit at all (null).
 */
export function effectiveRateLimit(qps: number, burst: number): RateLimit | null {
  const q = qps === 0 ? DEFAULT_RATE_LIMIT.qps : qps;
  const b = burst === 0 ? DEFAULT_RATE_LIMIT.burst : burst;
  if (!(q > 0)) return null;
  return { qps: q, burst: Math.max(1, b) };
}
