// The ipvs proxier's UDP conntrack clean-up (common/udp-conntrack-cleaner.ts) against an in-memory kernel: when
// it runs (after a successful sync only, never after the first), what it deletes, and that a
// failed sync's removed endpoints are still cleaned after the next successful one.
import { describe, expect, it } from 'vitest';
import type { Endpoint, ProxyState } from '../../model/types.ts';
import type { Conntrack, ConntrackFilter } from '../../system/conntrack.ts';
import { recordingLogger } from '../../sync/testing/recorders.ts';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { IpvsProxier } from './proxier.ts';
import { MemoryApplier } from './testing/memory-applier.ts';

const dns = svcPort('kube-system', 'dns', 'dns', { clusterIP: '10.96.0.10', port: 53, protocol: 'UDP' });
const web = svcPort('default', 'web', 'http', { clusterIP: '10.96.0.20', port: 80 });
const a = ep('10.244.0.1', 53);
const b = ep('10.244.0.2', 53);

function setup() {
  const applier = new MemoryApplier('IPv4', ['192.0.2.1']);
  const deleted: ConntrackFilter[] = [];
  const conntrack: Conntrack = { clear: async (_f, _p, filter) => (deleted.push(filter), 1) };
  const p = new IpvsProxier({
    family: 'IPv4', applier, logger: recordingLogger(), scheduler: 'rr', excludeCIDRs: [], nodePortAddresses: [], now: () => 0, conntrack,
    rulesOptions: () => ({ family: 'IPv4', masqueradeMark: '0x00004000', masqueradeAll: false, localDetector: null, randomFully: true }),
  });
  return { applier, deleted, p };
}

const state = (dnsEps: Endpoint[], over: Partial<ProxyState> = {}): ProxyState =>
  makeState('IPv4', [[dns, dnsEps], [web, [ep('10.244.0.1', 8080)]]], over);
const removedB: Partial<ProxyState> = { full: false, changedEndpoints: new Set([dns.name]), removedEndpoints: new Map([[dns.name, [b]]]) };

describe('IpvsProxier UDP conntrack clean-up', () => {
  it.each([
    ['first sync after start: nothing', [] as Partial<ProxyState>[], state([a, b]), []],
    ['an endpoint removed: its flows', [{}], state([a], removedB), [{ kind: 'service-ip-to-endpoint', ip: '10.96.0.10', endpointIP: '10.244.0.2' }]],
    ['a service gains its first endpoint: all its flows', [{ none: true }], state([a], { full: false, changedEndpoints: new Set([dns.name]) }), [{ kind: 'service-ip', ip: '10.96.0.10' }]],
  ] as const)('%s', async (_n, before, last, want) => {
    const { deleted, p } = setup();
    for (const o of before) await p.sync(state('none' in o ? [] : [a, b]));
    await p.sync(last);
    expect(deleted).toEqual(want);
  });

  it('a failed sync deletes nothing; the next successful one deletes what it removed', async () => {
    const { applier, deleted, p } = setup();
    await p.sync(state([a, b]));
    applier.failOp = (op) => op.op === 'deleteDestination';
    await expect(p.sync(state([a], removedB))).rejects.toThrow(/step\(s\) failed/);
    expect(deleted).toEqual([]);
    applier.failOp = () => false;
    await p.sync(state([a]));
    expect(deleted).toEqual([{ kind: 'service-ip-to-endpoint', ip: '10.96.0.10', endpointIP: '10.244.0.2' }]);
  });
});
