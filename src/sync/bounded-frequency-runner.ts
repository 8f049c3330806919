// Runs one async function on demand, rate-limited, periodic, never concurrent: kube-proxy's
// BoundedFrequencyRunner (kubernetes/kubernetes pkg/util/async/bounded_frequency_runner.go and
// the newer pkg/proxy/runner). As in the newer runner there is no burst, and minInterval counts
// from the *completion* of one run to the start of the next, so a slow sync cannot be followed
// back-to-back by another one. Pure: time comes from the injected Clock.
import type { Clock, TimerHandle } from './clock.ts';

export interface RunnerErrorInfo {
  /** Consecutive failed runs, this one included. */
  readonly failures: number;
  /** When the retry is scheduled, in ms from now. */
  readonly retryInMs: number;
}

export interface BoundedFrequencyRunnerOptions {
  readonly name: string;
  readonly clock: Clock;
  readonly fn: () => Promise<void>;
  /** Minimum time between the end of one run and the start of the next (minSyncPeriod). */
  readonly minIntervalMs: number;
  /** A run happens at least this often even when nobody asks (syncPeriod). */
  readonly maxIntervalMs: number;
  /** First retry delay after a failure; default max(minIntervalMs, 1 s). */
  readonly retryInitialMs?: number;
  /** Retry delay cap; default maxIntervalMs (upstream retries after syncPeriod). */
  readonly retryMaxMs?: number;
  /** Called after each failed run; must not throw. */
  readonly onError?: (err: unknown, info: RunnerErrorInfo) => void;
}

export class BoundedFrequencyRunner {
  readonly name: string;
  readonly #clock: Clock;
  readonly #fn: () => Promise<void>;
  readonly #minIntervalMs: number;
  readonly #maxIntervalMs: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #onError: ((err: unknown, info: RunnerErrorInfo) => void) | undefined;

  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  #pending = false;
  #lastRunEnd: number | undefined;
  #failures = 0;
  #stopped = false;
  #runs = 0;

  constructor(opts: BoundedFrequencyRunnerOptions) {
    if (!(opts.minIntervalMs >= 0) || !(opts.maxIntervalMs >= opts.minIntervalMs)) {
      // Upstream panics on the same misuse (construct()).
      throw new RangeError(`${opts.name}: need 0 <= minIntervalMs <= maxIntervalMs`);
    }
    this.name = opts.name;
    this.#clock = opts.clock;
    this.#fn = opts.fn;
    this.#minIntervalMs = opts.minIntervalMs;
    this.#maxIntervalMs = opts.maxIntervalMs;
    this.#retryInitialMs = Math.max(1, opts.retryInitialMs ?? Math.max(opts.minIntervalMs, 1000));
    this.#retryMaxMs = Math.max(this.#retryInitialMs, opts.retryMaxMs ?? opts.maxIntervalMs);
    this.#onError = opts.onError;
  }

  /** Runs completed so far (successful or not). */
  get runs(): number {
    return this.#runs;
  }

  /** Consecutive failures of the latest runs (0 after a success). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Ask for a run as soon as the bounds allow. Requests while a run is in flight, or before the
   * next allowed start, coalesce into one run. The run is always started from a timer (never
   * inside this call), so a burst of requests in one tick becomes a single run.
   */
  run(): void {
    if (this.#stopped) return;
    this.#pending = true;
    // In flight: the completion schedules the next run. Failing: the retry timer is armed and
    // requests do not shorten it, or a steady stream of changes would defeat the backoff.
    if (this.#inFlight !== undefined || this.#failures > 0) return;
    const now = this.#clock.now();
    const earliest = this.#lastRunEnd === undefined ? now : Math.max(now, this.#lastRunEnd + this.#minIntervalMs);
    this.#arm(earliest);
  }

  /** Stop scheduling; resolves when a run in flight (if any) has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer();
    await this.#inFlight;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#cancelTimer();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimer(Math.max(0, at - this.#clock.now()), () => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#start();
    });
  }

  #cancelTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #start(): void {
    if (this.#stopped || this.#inFlight !== undefined) return;
    this.#pending = false;
    this.#inFlight = this.#once().finally(() => {
      this.#inFlight = undefined;
      this.#lastRunEnd = this.#clock.now();
      this.#scheduleNext();
    });
  }

  async #once(): Promise<void> {
    this.#runs++;
    try {
      await this.#fn();
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      this.#onError?.(err, { failures: this.#failures, retryInMs: this.#retryDelay() });
    }
  }

  /** Exponential backoff from retryInitialMs, doubling per consecutive failure, capped. */
  #retryDelay(): number {
    const exp = Math.min(this.#failures - 1, 30);
    return Math.min(this.#retryInitialMs * 2 ** exp, this.#retryMaxMs);
  }

  #scheduleNext(): void {
    if (this.#stopped) return;
    const end = this.#lastRunEnd ?? this.#clock.now();
    if (this.#failures > 0) this.#arm(end + this.#retryDelay());
    else if (this.#pending) this.#arm(end + this.#minIntervalMs);
    else this.#arm(end + this.#maxIntervalMs);
  }
}
