import { describe, expect, it } from 'vitest';
import { mergeTargets } from './service-health-targets.ts';
import { recordCounts } from './sync-metrics.ts';
import { RecordingMetrics } from './testing/recorders.ts';

describe('mergeTargets', () => {
  it('unions services and keeps the largest local count per service', () => {
    const merged = mergeTargets([
      { services: new Map([['a/x', 30001]]), endpoints: new Map([['a/x', 1]]) },
      { services: new Map([['a/x', 30001], ['b/y', 30002]]), endpoints: new Map([['a/x', 3], ['b/y', 0]]) },
    ]);
    expect([...merged.services]).toEqual([['a/x', 30001], ['b/y', 30002]]);
    expect([...merged.endpoints]).toEqual([['a/x', 3], ['b/y', 0]]);
  });
});

describe('recordCounts', () => {
  const cases: { counts: Record<string, number>; rules: [string, number][]; noLocal: [string, number][] }[] = [
    { counts: { 'nat-rules': 10, 'filter-rules': 4 }, rules: [['IPv6 nat', 10], ['IPv6 filter', 4]], noLocal: [] },
    { counts: { 'no-local-endpoints-internal': 2, 'no-local-endpoints-external': 1 }, rules: [], noLocal: [['IPv6 internal', 2], ['IPv6 external', 1]] },
    { counts: { 'ipvs-services': 7 }, rules: [], noLocal: [] },
  ];
  it.each(cases)('maps $counts', ({ counts, rules, noLocal }) => {
    const m = new RecordingMetrics();
    recordCounts(m, 'IPv6', counts);
    expect([...m.rules]).toEqual(rules);
    expect([...m.noLocal]).toEqual(noLocal);
  });
});
