import { describe, expect, it } from 'vitest';
import { realClock } from './real-clock.ts';

describe('realClock', () => {
  it('fires a timer and cancels another', async () => {
    const fired: string[] = [];
    const cancelled = realClock.setTimer(1, () => fired.push('cancelled'));
    cancelled.cancel();
    await new Promise<void>((resolve) => realClock.setTimer(5, () => (fired.push('fired'), resolve())));
    expect(fired).toEqual(['fired']);
    const before = Date.now();
    const now = realClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
