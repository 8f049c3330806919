import { describe, expect, it } from 'vitest';
import { backoffDelay, newSourceStats, objectKeyOf, withTypeMeta } from './source-stats.ts';
import type { KindMap } from './types.ts';

describe('backoffDelay', () => {
  it.each([
    [0, 0, 250], [0, 1, 500], [1, 1, 1000], [3, 1, 4000], [10, 1, 30_000], [50, 0, 15_000],
  ])('failure %i with random %f waits %i ms (0.5 s doubling to a 30 s cap, equal jitter)', (failures, r, want) => {
    expect(backoffDelay(failures, 500, 30_000, () => r)).toBe(want);
  });
});

describe('objectKeyOf and withTypeMeta', () => {
  it('keys namespaced objects ns/name and Nodes by name', () => {
    expect(objectKeyOf({ metadata: { name: 'a', namespace: 'x' } })).toBe('x/a');
    expect(objectKeyOf({ metadata: { name: 'n1' } })).toBe('n1');
  });

  it('sets the type meta list items lack, without copying the object deeply', () => {
    const item = { metadata: { name: 'a' }, spec: { clusterIP: '10.96.0.1' } } as KindMap['Service'];
    const typed = withTypeMeta('Service', item);
    expect(typed).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' }, spec: { clusterIP: '10.96.0.1' } });
    expect(typed.spec).toBe(item.spec);
    expect(withTypeMeta('ServiceCIDR', { metadata: {} } as KindMap['ServiceCIDR']).apiVersion).toBe('networking.k8s.io/v1');
  });

  it('starts every counter at zero', () => {
    expect(newSourceStats().Node).toEqual({ restarts: 0, lists: 0, events: 0, handlerErrors: 0, stalls: 0, lastActivityMs: 0 });
  });
});
