import { describe, expect, it } from 'vitest';
import { skeletonOf } from './informer-supervisor.ts';

describe('skeletonOf (what client-node ListWatch caches)', () => {
  it.each([
    [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '7', labels: { x: 'y' } }, spec: { clusterIP: '10.96.0.1' } }, { metadata: { name: 'a', namespace: 'ns', resourceVersion: '7' } }],
    [{ metadata: { name: 'node-0', resourceVersion: '3' }, status: {} }, { metadata: { name: 'node-0', resourceVersion: '3' } }],
    [{ metadata: { name: 'x' } }, { metadata: { name: 'x' } }],
    [{}, { metadata: { name: '' } }],
  ])('keeps name, namespace and resourceVersion only (%#)', (obj, want) => {
    expect(skeletonOf(obj)).toEqual(want);
  });
});
