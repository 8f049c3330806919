import { describe, expect, it } from 'vitest';
import { KNOWN_FEATURE_GATES, LOCKED_FEATURE_GATES, validateFeatureGates } from './feature-gates.ts';

describe('validateFeatureGates (upstream featuregate.SetFromMap)', () => {
  it.each([
    ['none', {}, []],
    ['a kube-proxy gate', { PreferSameTrafficDistribution: true }, []],
    ['gates of other components, which kube-proxy registers too', { InPlacePodVerticalScaling: false, WatchListClient: false, ContextualLogging: true, AllAlpha: true }, []],
    ['a locked gate at its locked value', { NFTablesProxyMode: true }, []],
    ['an unknown name', { Foo: true }, ['featureGates: unrecognized feature gate: Foo']],
    ['names are case-sensitive', { nftablesProxyMode: true }, ['featureGates: unrecognized feature gate: nftablesProxyMode']],
    ['a gate removed before v1.33', { EndpointSliceProxying: true }, ['featureGates: unrecognized feature gate: EndpointSliceProxying']],
    ['a locked gate set the other way', { TopologyAwareHints: false }, ['featureGates: cannot set feature gate TopologyAwareHints to false, feature is locked to true']],
    ['every problem, in name order', { Zed: true, Abc: false, ServiceTrafficDistribution: false }, [
      'featureGates: unrecognized feature gate: Abc',
      'featureGates: cannot set feature gate ServiceTrafficDistribution to false, feature is locked to true',
      'featureGates: unrecognized feature gate: Zed',
    ]],
  ])('%s', (_label, gates, want) => {
    expect(validateFeatureGates(gates).map((e) => e.message)).toEqual(want);
  });

  it('every locked gate is a known gate', () => {
    expect(Object.keys(LOCKED_FEATURE_GATES).filter((g) => !KNOWN_FEATURE_GATES.has(g))).toEqual([]);
  });
});
