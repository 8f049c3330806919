import { describe, expect, it } from 'vitest';
import type { Endpoint, ServicePort } from '../../model/types.ts';
import { conntrackWork, udpServiceMemo } from './proxier-conntrack.ts';
import { ep, makeState, svcPort } from './testing/fixtures.ts';

const dns = svcPort('kube-system', 'dns', 'dns', { protocol: 'UDP', clusterIP: '10.96.0.10', port: 53, nodePort: 30053, externalIPs: ['203.0.113.5'] });
const a = ep('10.244.1.10', 53);
const b = ep('10.244.2.10', 53);
const memo = (s: ServicePort, eps: readonly Endpoint[]) => new Map([[s.name, udpServiceMemo(s, eps)]]);

describe('conntrackWork', () => {
  it('does nothing on the first sync after start (kubernetes#122740)', () => {
    const state = makeState('IPv4', [[dns, [a]]], { removedEndpoints: new Map([[dns.name, [b]]]) });
    expect(conntrackWork(state, undefined, memo(dns, [a]))).toEqual([]);
  });

  it('deletes flows NATed to a removed endpoint, per service IP and NodePort', () => {
    const state = makeState('IPv4', [[dns, [a]]], { removedEndpoints: new Map([[dns.name, [b]]]) });
    const filters = conntrackWork(state, memo(dns, [a, b]), memo(dns, [a])).map((t) => t.filter);
    expect(filters).toEqual([
      { kind: 'service-ip-to-endpoint', ip: '10.96.0.10', endpointIP: '10.244.2.10' },
      { kind: 'service-ip-to-endpoint', ip: '203.0.113.5', endpointIP: '10.244.2.10' },
      { kind: 'nodeport-to-endpoint', port: 30053, endpointIP: '10.244.2.10' },
    ]);
  });

  it('keeps flows of an endpoint that is still there (moved port, duplicate slice)', () => {
    const state = makeState('IPv4', [[dns, [a]]], { removedEndpoints: new Map([[dns.name, [{ ...a, port: 5353 }]]]) });
    expect(conntrackWork(state, memo(dns, [a]), memo(dns, [a]))).toEqual([]);
  });

  it.each([
    ['from no endpoints to some', [] as Endpoint[], [a], true],
    ['from some to some', [a], [a], false],
    ['from none to none ready', [], [{ ...a, ready: false, serving: false }], false],
  ])('service IP flows %s: flushed=%s', (_n, before, after, flushed) => {
    const state = makeState('IPv4', [[dns, after]]);
    const tasks = conntrackWork(state, memo(dns, before), memo(dns, after));
    expect(tasks.length > 0).toBe(flushed);
    if (flushed) expect(tasks.map((t) => t.filter.kind)).toEqual(['service-ip', 'service-ip', 'nodeport']);
  });

  it('flushes every flow of a deleted UDP service', () => {
    const state = makeState('IPv4', []);
    expect(conntrackWork(state, memo(dns, [a]), new Map()).map((t) => t.filter)).toEqual([
      { kind: 'service-ip', ip: '10.96.0.10' },
      { kind: 'service-ip', ip: '203.0.113.5' },
      { kind: 'nodeport', port: 30053 },
    ]);
  });
});
