import { describe, expect, it } from 'vitest';
import { FullSyncPolicy } from './full-sync-policy.ts';

describe('FullSyncPolicy', () => {
  it('is full at start and after a failure until a sync succeeds; the loop can always ask for one', () => {
    const p = new FullSyncPolicy();
    expect([p.pending, p.isFull(false)]).toEqual([true, true]);
    p.succeeded();
    expect([p.pending, p.isFull(false), p.isFull(true)]).toEqual([false, false, true]);
    p.requireFull();
    expect(p.isFull(false)).toBe(true);
    // A failed full sync leaves it owed.
    p.requireFull();
    expect(p.isFull(false)).toBe(true);
    p.succeeded();
    expect(p.isFull(false)).toBe(false);
  });
});
