import { describe, expect, it } from 'vitest';
import { backoffDelay, newSourceStats, objectKeyOf, toWire } from './source-stats.ts';
import type { KindMap } from './types.ts';

describe('backoffDelay', () => {
  it.each([
    [0, 0, 250], [0, 1, 500], [1, 1, 1000], [3, 1, 4000], [10, 1, 30_000], [50, 0, 15_000],
  ])('failure %i with random %f waits %i ms (0.5 s doubling to a 30 s cap, equal jitter)', (failures, r, want) => {
    expect(backoffDelay(failures, 500, 30_000, () => r)).toBe(want);
  });
});

describe('objectKeyOf and toWire', () => {
  it('keys namespaced objects ns/name and Nodes by name', () => {
    expect(objectKeyOf({ metadata: { name: 'a', namespace: 'x' } })).toBe('x/a');
    expect(objectKeyOf({ metadata: { name: 'n1' } })).toBe('n1');
  });

  it('turns client-node list items (Dates, no type meta) into wire JSON', () => {
    const item = { metadata: { name: 'a', creationTimestamp: new Date('2024-01-02T03:04:05Z') } } as KindMap['Service'];
    expect(toWire('Service', item)).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', creationTimestamp: '2024-01-02T03:04:05.000Z' } });
    expect(toWire('EndpointSlice', { metadata: {} } as KindMap['EndpointSlice']).apiVersion).toBe('discovery.k8s.io/v1');
  });

  it('starts every counter at zero', () => {
    expect(newSourceStats().Node).toEqual({ restarts: 0, lists: 0, events: 0, handlerErrors: 0, stalls: 0, lastActivityMs: 0 });
  });
});
