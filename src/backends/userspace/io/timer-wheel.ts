// One coarse timer shared by every connection and session of the relay. A setTimeout per
// connection costs an allocation, a timer-list insertion and a GC-visible object on the hot path;
// here an entry is the connection object itself in a Set bucket, and one interval runs only while
// anything is armed. Resolution is one tick (default 50 ms): fine for dial timeouts of 250 ms+,
// UDP idle timeouts and drain deadlines.

/** Anything armed on the wheel: it is called back once, at the first tick past its deadline. */
export interface WheelEntry {
  onWheelTimeout(): void;
  /** Owned by the wheel: the bucket holding the entry, or -1. */
  wheelSlot: number;
}

export class TimerWheel {
  readonly #tickMs: number;
  readonly #buckets: Set<WheelEntry>[];
  #cursor = 0;
  #armed = 0;
  #interval: ReturnType<typeof setInterval> | undefined;

  /** `horizonMs` is the longest timeout supported; longer ones are re-armed when they come round. */
  constructor(tickMs = 50, horizonMs = 60_000) {
    this.#tickMs = tickMs;
    this.#buckets = Array.from({ length: Math.ceil(horizonMs / tickMs) + 1 }, () => new Set<WheelEntry>());
  }

  get tickMs(): number {
    return this.#tickMs;
  }

  /** Arm (or re-arm) `entry` to fire after about `ms` milliseconds (capped at the horizon). */
  arm(entry: WheelEntry, ms: number): void {
    if (entry.wheelSlot !== -1) this.disarm(entry);
    const n = this.#buckets.length;
    const ticks = Math.min(n - 1, Math.max(1, Math.ceil(ms / this.#tickMs)));
    const slot = (this.#cursor + ticks) % n;
    this.#buckets[slot]?.add(entry);
    entry.wheelSlot = slot;
    this.#armed++;
    if (this.#interval === undefined) {
      this.#interval = setInterval(() => this.#tick(), this.#tickMs);
      // The wheel never keeps the process alive on its own.
      this.#interval.unref();
    }
  }

  disarm(entry: WheelEntry): void {
    if (entry.wheelSlot === -1) return;
    if (this.#buckets[entry.wheelSlot]?.delete(entry)) this.#armed--;
    entry.wheelSlot = -1;
    if (this.#armed === 0) this.stop();
  }

  get armed(): number {
    return this.#armed;
  }

  stop(): void {
    if (this.#interval !== undefined) clearInterval(this.#interval);
    this.#interval = undefined;
  }

  #tick(): void {
    this.#cursor = (this.#cursor + 1) % this.#buckets.length;
    const bucket = this.#buckets[this.#cursor];
    if (!bucket || bucket.size === 0) return;
    const due = [...bucket];
    bucket.clear();
    this.#armed -= due.length;
    for (const e of due) {
      e.wheelSlot = -1;
      e.onWheelTimeout();
    }
    if (this.#armed === 0) this.stop();
  }
}
