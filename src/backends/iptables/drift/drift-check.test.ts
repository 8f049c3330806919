// The drift check's schedule: a slow check runs beside the syncs, pausing so that it uses at most
// DRIFT_CPU_SHARE of a core, its result is taken at the next canary check, and dropped when what we
// wrote changed while it ran. A fake clock: each piece of the listing "costs" a few ms.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../model/logger.ts';
import { DRIFT_CPU_SHARE, DriftCheck } from './drift-check.ts';
import { ExpectedRules } from './expected-rules.ts';

const silent: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, fatal: () => {}, child: () => silent };

const payload = (ep: string): string =>
  ['*nat', ':KUBE-SVC-AAA - [0:0]', `-A KUBE-SVC-AAA -m comment --comment ns/svc:p -j DNAT --to-destination ${ep}`, 'COMMIT', ''].join('\n');

function record(expected: ExpectedRules, text: string, full: boolean): void {
  const r = expected.recorder(full);
  r.push(text);
  r.commit();
}

function setup(pieceCostMs: number) {
  let now = 0;
  const expected = new ExpectedRules();
  record(expected, payload('10.244.1.10:80'), true);
  let listing = payload('10.244.1.10:80');
  const sleeps: number[] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const check = new DriftCheck({
    family: 'IPv4',
    expected,
    logger: silent,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (hold) await new Promise<void>((r) => (release = r));
      now += ms;
    },
    applier: {
      // The listing in 8 pieces, each costing pieceCostMs of the daemon's time.
      saveChunks: async (_table, onText) => {
        const size = Math.ceil(listing.length / 8);
        for (let i = 0; i < listing.length; i += size) {
          now += pieceCostMs;
          await onText(listing.slice(i, i + size));
        }
      },
    },
  });
  return {
    check, expected, sleeps,
    advance: (ms: number) => (now += ms),
    setListing: (t: string) => (listing = t),
    hold: (on: boolean) => {
      hold = on;
      if (!on) release?.();
    },
    settle: async () => {
      for (let i = 0; i < 50 && check.running; i++) await new Promise((r) => setImmediate(r));
    },
  };
}

describe('DriftCheck', () => {
  it('runs a quick check in the sync, every time', async () => {
    const t = setup(1);
    t.setListing(payload('10.244.9.9:80'));
    expect(await t.check.differences()).toEqual(['nat chain KUBE-SVC-AAA: rules changed']);
    expect(await t.check.differences()).toEqual(['nat chain KUBE-SVC-AAA: rules changed']);
    expect(t.sleeps).toEqual([]);
  });

  it('runs a slow check beside the syncs, paced to DRIFT_CPU_SHARE, and reports it at the next canary check', async () => {
    const t = setup(40); // 8 × 40 ms = 320 ms: slow
    t.setListing(payload('10.244.9.9:80'));
    expect(await t.check.differences()).toHaveLength(1); // the first, in the sync: it finds out it is slow
    t.advance(0.32 / DRIFT_CPU_SHARE * 1000);
    expect(await t.check.differences()).toEqual([]); // started beside the sync
    expect(t.check.running).toBe(true);
    await t.settle();
    expect(t.check.running).toBe(false);
    // Every 40 ms of work was followed by a pause that keeps it at DRIFT_CPU_SHARE of a core.
    expect(t.sleeps).toHaveLength(8);
    for (const s of t.sleeps) expect(s).toBeCloseTo(40 * (1 / DRIFT_CPU_SHARE - 1), 6);
    expect(await t.check.differences()).toEqual(['nat chain KUBE-SVC-AAA: rules changed']);
    // And the next one waits its own cost over the share again.
    expect(await t.check.differences()).toEqual([]);
    expect(t.check.running).toBe(false);
  });

  it('drops a paced result when what we wrote changed while it ran', async () => {
    const t = setup(40);
    await t.check.differences();
    t.advance(0.32 / DRIFT_CPU_SHARE * 1000);
    t.hold(true);
    await t.check.differences();
    expect(t.check.running).toBe(true);
    // A sync wrote new rules meanwhile: the listing being read is from before them, so comparing it
    // with them would report drift that is not there.
    record(t.expected, payload('10.244.9.9:80'), false);
    t.hold(false);
    await t.settle();
    expect(await t.check.differences()).toEqual([]);
  });

  it('moves the version only when what we wrote changed', () => {
    const expected = new ExpectedRules();
    record(expected, payload('10.244.1.10:80'), true);
    const v = expected.version;
    record(expected, payload('10.244.1.10:80'), false);
    record(expected, payload('10.244.1.10:80'), true);
    expect(expected.version).toBe(v);
    record(expected, payload('10.244.1.11:80'), false);
    expect(expected.version).toBe(v + 1);
  });
});
