import { describe, expect, it } from 'vitest';
import type { Endpoint, ServicePort } from '../../model/types.ts';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { PlanIndex } from './plan-index.ts';

const opts = { family: 'IPv4' as const, scheduler: '', nodePortIPs: ['192.0.2.11'], localAddresses: new Set(['192.0.2.11']) };
const remote = [ep('10.244.2.6', 80)];
const local = [ep('10.244.1.5', 80, { isLocal: true }), ep('10.244.2.6', 80)];

describe('PlanIndex no-local-endpoints counts (upstream serviceNoLocalEndpoints{Internal,External})', () => {
  const lb = { clusterIP: '10.96.0.20', nodePort: 30080, loadBalancerVIPs: ['198.18.0.1'] };
  const cases: { name: string; ports: [ServicePort, Endpoint[]][]; internal: number; external: number }[] = [
    { name: 'iTP Local, only remote endpoints', ports: [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.10', internalPolicyLocal: true }), remote]], internal: 1, external: 0 },
    { name: 'iTP Local, a local endpoint', ports: [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.10', internalPolicyLocal: true }), local]], internal: 0, external: 0 },
    { name: 'iTP Local, no endpoints at all (rejected, not counted)', ports: [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.10', internalPolicyLocal: true }), []]], internal: 0, external: 0 },
    { name: 'eTP Local LoadBalancer, only remote endpoints', ports: [[svcPort('ns', 'b', '', { ...lb, externalPolicyLocal: true }), remote]], internal: 0, external: 1 },
    { name: 'both policies Local', ports: [[svcPort('ns', 'b', '', { ...lb, externalPolicyLocal: true, internalPolicyLocal: true }), remote]], internal: 1, external: 1 },
    { name: 'policies Cluster', ports: [[svcPort('ns', 'b', '', lb), remote]], internal: 0, external: 0 },
    {
      name: 'two ports of one Service count once',
      ports: [
        [svcPort('ns', 'c', 'http', { clusterIP: '10.96.0.30', internalPolicyLocal: true }), remote],
        [svcPort('ns', 'c', 'https', { clusterIP: '10.96.0.30', port: 443, internalPolicyLocal: true }), remote],
      ],
      internal: 1,
      external: 0,
    },
  ];
  it.each(cases)('$name', ({ ports, internal, external }) => {
    expect(PlanIndex.build(makeState('IPv4', ports), opts).noLocalEndpoints).toEqual({ internal, external });
  });

  it('follows partial updates: a local endpoint appears, then the Service goes', () => {
    const svc = svcPort('ns', 'a', '', { clusterIP: '10.96.0.10', internalPolicyLocal: true });
    const index = PlanIndex.build(makeState('IPv4', [[svc, remote]]), opts);
    expect(index.noLocalEndpoints.internal).toBe(1);
    index.update(makeState('IPv4', [[svc, local]]), [svc.name]);
    expect(index.noLocalEndpoints.internal).toBe(0);
    index.update(makeState('IPv4', [[svc, remote]]), [svc.name]);
    expect(index.noLocalEndpoints.internal).toBe(1);
    index.update(makeState('IPv4', []), [svc.name]);
    expect(index.noLocalEndpoints.internal).toBe(0);
  });
});
