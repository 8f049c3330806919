// The clock the sync runner and health logic use; main.ts passes the real one, tests a fake.
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}
