import { describe, expect, it } from 'vitest';
import { isUnauthorized, skeletonOf } from './informer-supervisor.ts';

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

describe('isUnauthorized', () => {
  it.each([
    ['a list ApiException 401', Object.assign(new Error('HTTP-Code: 401'), { code: 401 }), true],
    ['a watch Error with statusCode 401', Object.assign(new Error('Unauthorized'), { statusCode: 401 }), true],
    ['a 403', Object.assign(new Error('Forbidden'), { code: 403 }), false],
    ['connection refused', Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
    ['not an object', 'boom', false],
  ])('%s → %s', (_label, err, want) => {
    expect(isUnauthorized(err)).toBe(want);
  });
});
