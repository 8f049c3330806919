import { describe, expect, it } from 'vitest';
import type { Endpoint, IPFamily, Protocol, ServicePort } from '../../model/types.ts';
import type { Conntrack, ConntrackFilter } from '../../system/conntrack.ts';
import { recordingLogger } from '../../sync/testing/recorders.ts';
import { conntrackWork, UdpConntrackCleaner, udpServiceMemo, udpServiceMemos } from './udp-conntrack-cleaner.ts';
import { ep, makeState, svcPort } from './testing/fixtures.ts';

const dns = svcPort('kube-system', 'dns', 'dns', { protocol: 'UDP', clusterIP: '10.96.0.10', port: 53, nodePort: 30053, externalIPs: ['203.0.113.5'] });
const web = svcPort('default', 'web', 'http', { clusterIP: '10.96.0.20', port: 80 });
const dns6 = svcPort('kube-system', 'dns', 'dns', { family: 'IPv6', protocol: 'UDP', clusterIP: 'fd00:10:96::a', port: 53 });
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
    ['from none to a terminating serving one', [], [{ ...a, ready: false, serving: true, terminating: true }], true],
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

describe('udpServiceMemos', () => {
  it('keeps only UDP service ports', () => {
    const memos = udpServiceMemos(makeState('IPv4', [[dns, [a]], [web, [ep('10.244.1.10', 8080)]]]));
    expect([...memos.keys()]).toEqual([dns.name]);
  });
});

/** Records what it was asked to delete; a filter naming `failIP` fails as conntrack(8) would. */
function recordingConntrack(failIP = ''): Conntrack & { calls: [IPFamily, Protocol, ConntrackFilter][] } {
  const calls: [IPFamily, Protocol, ConntrackFilter][] = [];
  return {
    calls,
    async clear(family, protocol, filter) {
      if ('ip' in filter && filter.ip === failIP) throw new Error('conntrack v1.4.7: Operation failed');
      calls.push([family, protocol, filter]);
      return 1;
    },
  };
}

describe('UdpConntrackCleaner', () => {
  const removedB = { removedEndpoints: new Map([[dns.name, [b]]]) };

  it('deletes nothing after the first sync, then the flows of a removed endpoint after the next', async () => {
    const ct = recordingConntrack();
    const c = new UdpConntrackCleaner({ family: 'IPv4', conntrack: ct, logger: recordingLogger() });
    await c.afterSync(makeState('IPv4', [[dns, [a, b]]]));
    expect(ct.calls).toEqual([]);
    await c.afterSync(makeState('IPv4', [[dns, [a]]], removedB));
    expect(ct.calls.map(([f, p, x]) => [f, p, x.kind])).toEqual([
      ['IPv4', 'UDP', 'service-ip-to-endpoint'], ['IPv4', 'UDP', 'service-ip-to-endpoint'], ['IPv4', 'UDP', 'nodeport-to-endpoint'],
    ]);
  });

  it('passes its family to conntrack (IPv6)', async () => {
    const ct = recordingConntrack();
    const c = new UdpConntrackCleaner({ family: 'IPv6', conntrack: ct, logger: recordingLogger() });
    await c.afterSync(makeState('IPv6', [[dns6, []]]));
    await c.afterSync(makeState('IPv6', [[dns6, [ep('fd00:10:244::10', 53)]]]));
    expect(ct.calls).toEqual([['IPv6', 'UDP', { kind: 'service-ip', ip: 'fd00:10:96::a' }]]);
  });

  it('keeps the removed endpoints of a failed sync for the next successful one', async () => {
    const ct = recordingConntrack();
    const c = new UdpConntrackCleaner({ family: 'IPv4', conntrack: ct, logger: recordingLogger() });
    await c.afterSync(makeState('IPv4', [[dns, [a, b]]]));
    c.syncFailed(makeState('IPv4', [[dns, [a]]], removedB));
    await c.afterSync(makeState('IPv4', [[dns, [a]]]));
    expect(ct.calls.map(([, , x]) => x)).toContainEqual({ kind: 'service-ip-to-endpoint', ip: '10.96.0.10', endpointIP: '10.244.2.10' });
    ct.calls.length = 0;
    await c.afterSync(makeState('IPv4', [[dns, [a]]]));
    expect(ct.calls).toEqual([]);
  });

  it('logs a failed deletion and still runs the others', async () => {
    const ct = recordingConntrack('10.96.0.10');
    const logger = recordingLogger();
    const c = new UdpConntrackCleaner({ family: 'IPv4', conntrack: ct, logger });
    await c.afterSync(makeState('IPv4', [[dns, [a, b]]]));
    await c.afterSync(makeState('IPv4', [[dns, [a]]], removedB));
    expect(ct.calls).toHaveLength(2);
    expect(logger.entries.map((e) => [e.level, e.msg])).toEqual([['error', 'conntrack clean-up failed']]);
  });

  it('without conntrack (--dry-run) still returns the work', async () => {
    const c = new UdpConntrackCleaner({ family: 'IPv4', logger: recordingLogger() });
    await c.afterSync(makeState('IPv4', [[dns, [a, b]]]));
    expect(await c.afterSync(makeState('IPv4', [[dns, [a]]], removedB))).toHaveLength(3);
  });
});
