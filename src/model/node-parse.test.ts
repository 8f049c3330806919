import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { defaultNode, parseNode } from './node-parse.ts';

describe('parseNode', () => {
  it.each<[string, V1Node, object, string[]]>([
    [
      'labels, zone and pod CIDRs',
      { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1', a: 'b' } }, spec: { podCIDRs: ['10.244.1.7/24', 'fd00:1::/64'] } },
      { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1', a: 'b' }, zone: 'z1', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'], eligible: true },
      [],
    ],
    ['legacy podCIDR', { metadata: { name: 'n1' }, spec: { podCIDR: '10.244.2.0/24' } }, { name: 'n1', labels: {}, zone: '', podCIDRs: ['10.244.2.0/24'], eligible: true }, []],
    ['being deleted', { metadata: { name: 'n1', deletionTimestamp: new Date(0) } }, { eligible: false }, []],
    [
      'autoscaler taint',
      { metadata: { name: 'n1' }, spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } },
      { eligible: false },
      [],
    ],
    ['other taint', { metadata: { name: 'n1' }, spec: { taints: [{ key: 'x', effect: 'NoSchedule' }] } }, { eligible: true }, []],
    [
      'bad pod CIDR dropped, good one kept',
      { metadata: { name: 'n1' }, spec: { podCIDRs: ['nope', '10.0.0.1', '10.244.0.0/16'] } },
      { podCIDRs: ['10.244.0.0/16'] },
      ['Node n1: spec.podCIDRs: invalid CIDR "nope"', 'Node n1: spec.podCIDRs: invalid CIDR "10.0.0.1"'],
    ],
  ])('%s', (_n, input, want, errors) => {
    const got = parseNode(input);
    expect(got.node).toMatchObject(want);
    expect(got.errors.map((e) => e.message)).toEqual(errors);
  });

  it('defaultNode is eligible and has no topology', () => {
    expect(defaultNode('n')).toEqual({ name: 'n', labels: {}, zone: '', podCIDRs: [], eligible: true });
  });
});
