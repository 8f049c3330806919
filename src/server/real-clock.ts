// The wall clock for main.ts to inject into the pure sync core (src/sync/clock.ts).
import type { Clock, TimerHandle } from '../sync/clock.ts';

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
