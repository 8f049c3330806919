// ServiceCIDRs in the model: every object's ranges, split by family, in each family's snapshot; a
// change rewrites everything (the nftables mode's service-IP set), a bad object is reported once
// and contributes nothing.
import type { V1ServiceCIDR } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ObjectError } from '../errors.ts';
import { ClusterState } from './cluster-state.ts';

const cidr = (name: string, cidrs: unknown, rv = '1'): V1ServiceCIDR =>
  ({ metadata: { name, resourceVersion: rv }, spec: { cidrs } } as V1ServiceCIDR);

function setup() {
  const errors: ObjectError[] = [];
  let fired = 0;
  const state = new ClusterState({ nodeName: 'n1', families: ['IPv4', 'IPv6'], requireNode: false, onInvalid: (e) => errors.push(e), now: () => 1000 });
  state.onChange(() => fired++);
  const synced = (): void => {
    state.synced('Service');
    state.synced('EndpointSlice');
  };
  return { state, errors, fired: () => fired, synced };
}

describe('ClusterState ServiceCIDRs', () => {
  it('hands each family the union of every ServiceCIDR, sorted and deduplicated', () => {
    const { state } = setup();
    expect(state.snapshot('IPv4').serviceCIDRs).toEqual([]);
    state.replace('ServiceCIDR', [
      cidr('kubernetes', ['10.96.0.0/16', 'fd00:10:96::/112']),
      cidr('extra', ['10.100.0.0/24']),
      cidr('again', ['10.96.0.0/16']),
    ]);
    expect(state.snapshot('IPv4').serviceCIDRs).toEqual(['10.100.0.0/24', '10.96.0.0/16']);
    expect(state.snapshot('IPv6').serviceCIDRs).toEqual(['fd00:10:96::/112']);
    expect(state.keys('ServiceCIDR').sort()).toEqual(['again', 'extra', 'kubernetes']);
  });

  it('a change makes the next snapshot full and fires once; a resent object changes nothing', () => {
    const { state, fired, synced } = setup();
    synced();
    state.upsert('ServiceCIDR', cidr('kubernetes', ['10.96.0.0/16']));
    for (const f of ['IPv4', 'IPv6'] as const) state.commit(state.snapshot(f));
    expect(state.snapshot('IPv4').full).toBe(false);
    const before = fired();
    state.upsert('ServiceCIDR', cidr('kubernetes', ['10.96.0.0/16']));
    expect(fired()).toBe(before);
    state.upsert('ServiceCIDR', cidr('extra', ['10.97.0.0/16']));
    expect(fired()).toBe(before + 1);
    const snap = state.snapshot('IPv4');
    expect(snap.full).toBe(true);
    state.commit(snap);
    expect(state.snapshot('IPv4').full).toBe(false);
    // The IPv6 family had no change: its ranges and its next sync stay as they were.
    expect(state.snapshot('IPv6').serviceCIDRs).toEqual([]);
    expect(state.snapshot('IPv6').full).toBe(false);
  });

  it('removes a deleted ServiceCIDR and, on a relist, one that vanished', () => {
    const { state } = setup();
    state.replace('ServiceCIDR', [cidr('a', ['10.96.0.0/16']), cidr('b', ['10.97.0.0/16'])]);
    state.remove('ServiceCIDR', 'a');
    expect(state.snapshot('IPv4').serviceCIDRs).toEqual(['10.97.0.0/16']);
    state.replace('ServiceCIDR', []);
    expect(state.snapshot('IPv4').serviceCIDRs).toEqual([]);
    expect(state.keys('ServiceCIDR')).toEqual([]);
  });

  it('reports a malformed ServiceCIDR once, skips it, and takes it when fixed', () => {
    const { state, errors } = setup();
    state.replace('ServiceCIDR', [cidr('good', ['10.96.0.0/16']), cidr('bad', ['10.97.0.0/16', 'nope'])]);
    expect(errors.map((e) => e.message)).toEqual(['ServiceCIDR bad: spec.cidrs[1]: invalid CIDR "nope"']);
    expect(state.snapshot('IPv4').serviceCIDRs).toEqual(['10.96.0.0/16']);
    // Resent unchanged (a relist): not reported again.
    state.replace('ServiceCIDR', [cidr('good', ['10.96.0.0/16']), cidr('bad', ['10.97.0.0/16', 'nope'])]);
    expect(errors).toHaveLength(1);
    state.upsert('ServiceCIDR', cidr('bad', ['10.97.0.0/16'], '2'));
    expect(state.snapshot('IPv4').serviceCIDRs).toEqual(['10.96.0.0/16', '10.97.0.0/16']);
  });

  it('does not hold back the first sync (a cluster before v1.33 has no ServiceCIDRs)', () => {
    const { state, synced } = setup();
    synced();
    expect(state.isSynced()).toBe(true);
  });
});
