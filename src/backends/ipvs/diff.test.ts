import { describe, expect, it } from 'vitest';
import { describeOp } from '../../system/ipvs-client.ts';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { applyOpsToModel, diffAddresses, diffIpvs, pendingKey, recheckPending } from './diff.ts';
import type { KernelDestination, KernelServers, KernelVirtualServer, PendingDeletion } from './diff.ts';
import { planIpvs } from './plan.ts';
import type { IpvsPlan } from './plan.ts';

const opts = { scheduler: 'rr', nodePortIPs: ['192.0.2.11'], localAddresses: new Set<string>() };
const never = (): boolean => false;

function plan(eps: string[], over: Parameters<typeof svcPort>[3] = {}): IpvsPlan {
  return planIpvs(makeState('IPv4', [[svcPort('ns', 'a', '', { clusterIP: '10.96.0.10', ...over }), eps.map((ip) => ep(ip, 8080))]]), opts);
}

/** The kernel as it would be after programming `p` (what a restart finds). */
function kernelOf(p: IpvsPlan): Map<string, KernelVirtualServer> {
  const out = new Map<string, KernelVirtualServer>();
  for (const [k, v] of p.virtualServers) {
    out.set(k, { service: v.service, destinations: [...v.destinations.values()].map((d) => ({ ...d, activeConns: 0, inactiveConns: 0 })) });
  }
  return out;
}

function withDest(k: Map<string, KernelVirtualServer>, key: string, d: Partial<KernelDestination> & { address: string }): Map<string, KernelVirtualServer> {
  const vs = k.get(key);
  if (!vs) throw new Error(`no ${key}`);
  const full: KernelDestination = { port: 8080, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, ...d };
  k.set(key, { ...vs, destinations: [...vs.destinations.filter((x) => x.address !== d.address), full] });
  return k;
}

const run = (p: IpvsPlan, kernel: KernelServers, pending = new Map<string, PendingDeletion>(), extra: { scope?: Set<string>; excluded?: (a: string) => boolean } = {}) =>
  diffIpvs({ plan: p, kernel, pending, now: 1000, excluded: extra.excluded ?? never, ...(extra.scope ? { scope: extra.scope } : {}) });

const described = (d: ReturnType<typeof run>): string[] => d.ops.map((o) => `${describeOp(o)}${o.op === 'updateDestination' ? ` w${o.destination.weight}` : ''}`);

const VS = '10.96.0.10:80/TCP';

describe('diffIpvs', () => {
  const cases: { name: string; plan: IpvsPlan; kernel: () => KernelServers; ops: string[]; pending?: string[] }[] = [
    {
      name: 'empty kernel: add the service, then its destinations',
      plan: plan(['10.244.1.5', '10.244.2.6']),
      kernel: () => new Map(),
      ops: ['ipvs: add service 10.96.0.10:80/TCP', 'ipvs: add destination 10.244.1.5:8080 to 10.96.0.10:80/TCP', 'ipvs: add destination 10.244.2.6:8080 to 10.96.0.10:80/TCP'],
    },
    {
      name: 'everything already programmed (restart): nothing to send',
      plan: plan(['10.244.1.5', '10.244.2.6'], { nodePort: 30080 }),
      kernel: () => kernelOf(plan(['10.244.1.5', '10.244.2.6'], { nodePort: 30080 })),
      ops: [],
    },
    {
      name: 'one endpoint added: one message',
      plan: plan(['10.244.1.5', '10.244.2.6']),
      kernel: () => kernelOf(plan(['10.244.1.5'])),
      ops: ['ipvs: add destination 10.244.2.6:8080 to 10.96.0.10:80/TCP'],
    },
    {
      name: 'endpoint removed without connections: deleted at once',
      plan: plan(['10.244.1.5']),
      kernel: () => kernelOf(plan(['10.244.1.5', '10.244.2.6'])),
      ops: ['ipvs: delete destination 10.244.2.6:8080 of 10.96.0.10:80/TCP'],
    },
    {
      name: 'TCP endpoint removed with connections: weight 0 and pending',
      plan: plan(['10.244.1.5']),
      kernel: () => withDest(kernelOf(plan(['10.244.1.5'])), VS, { address: '10.244.2.6', activeConns: 2 }),
      ops: ['ipvs: update destination 10.244.2.6:8080 of 10.96.0.10:80/TCP w0'],
      pending: [`${VS}>10.244.2.6:8080`],
    },
    {
      name: 'TCP endpoint already quiesced with TIME_WAIT connections: no message, still pending',
      plan: plan(['10.244.1.5']),
      kernel: () => withDest(kernelOf(plan(['10.244.1.5'])), VS, { address: '10.244.2.6', weight: 0, inactiveConns: 3 }),
      ops: [],
      pending: [`${VS}>10.244.2.6:8080`],
    },
    {
      name: 'UDP endpoint removed with connections: deleted at once (expire_nodest_conn)',
      plan: plan(['10.244.1.5'], { protocol: 'UDP' }),
      kernel: () => withDest(kernelOf(plan(['10.244.1.5'], { protocol: 'UDP' })), '10.96.0.10:80/UDP', { address: '10.244.2.6', inactiveConns: 9 }),
      ops: ['ipvs: delete destination 10.244.2.6:8080 of 10.96.0.10:80/UDP'],
    },
    {
      name: 'a wanted destination left at weight 0 is put back to 1 (kubernetes#92019)',
      plan: plan(['10.244.1.5']),
      kernel: () => withDest(kernelOf(plan([])), VS, { address: '10.244.1.5', weight: 0, activeConns: 1 }),
      ops: ['ipvs: update destination 10.244.1.5:8080 of 10.96.0.10:80/TCP w1'],
    },
    {
      name: 'affinity turned on: the service is edited in place, never deleted',
      plan: plan(['10.244.1.5'], { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } }),
      kernel: () => kernelOf(plan(['10.244.1.5'])),
      ops: ['ipvs: update service 10.96.0.10:80/TCP'],
    },
    {
      name: 'a virtual server nobody wants is deleted',
      plan: plan(['10.244.1.5']),
      kernel: () => kernelOf(plan(['10.244.1.5'], { nodePort: 30080 })),
      ops: ['ipvs: delete service 192.0.2.11:30080/TCP'],
    },
  ];
  it.each(cases)('$name', (c) => {
    const d = run(c.plan, c.kernel());
    expect(described(d)).toEqual(c.ops);
    expect([...d.pending.keys()]).toEqual(c.pending ?? []);
  });

  it('keeps excluded virtual servers (--ipvs-exclude-cidrs)', () => {
    const k = kernelOf(plan(['10.244.1.5'], { nodePort: 30080 }));
    const d = run(plan(['10.244.1.5']), k, new Map(), { excluded: (a) => a.startsWith('192.0.2.') });
    expect(d.ops).toEqual([]);
  });

  it('a partial sync only looks at the scoped virtual servers', () => {
    const k = kernelOf(plan(['10.244.1.5'], { nodePort: 30080 }));
    const d = run(plan(['10.244.1.5', '10.244.9.9']), k, new Map(), { scope: new Set(['10.96.0.10:80/TCP']) });
    expect(described(d)).toEqual(['ipvs: add destination 10.244.9.9:8080 to 10.96.0.10:80/TCP']);
  });

  it('a pending real server that comes back leaves the pending list and gets weight 1', () => {
    const k = withDest(kernelOf(plan(['10.244.1.5'])), VS, { address: '10.244.2.6', weight: 0, activeConns: 1 });
    const first = run(plan(['10.244.1.5']), k);
    expect(first.pending.size).toBe(1);
    const back = run(plan(['10.244.1.5', '10.244.2.6']), k, first.pending);
    expect(described(back)).toEqual(['ipvs: update destination 10.244.2.6:8080 of 10.96.0.10:80/TCP w1']);
    expect(back.pending.size).toBe(0);
  });

  it('deleting a virtual server drops its pending entries', () => {
    const k = withDest(kernelOf(plan(['10.244.1.5'])), VS, { address: '10.244.2.6', weight: 0, activeConns: 1 });
    const first = run(plan(['10.244.1.5']), k);
    const gone = run(planIpvs(makeState('IPv4', []), opts), k, first.pending);
    expect(described(gone)).toEqual(['ipvs: delete service 10.96.0.10:80/TCP']);
    expect(gone.pending.size).toBe(0);
  });
});

describe('recheckPending', () => {
  const p: PendingDeletion = { service: { family: 'IPv4', protocol: 'TCP', address: '10.96.0.10', port: 80 }, destination: { address: '10.244.2.6', port: 8080 }, since: 0 };
  const d = (over: Partial<KernelDestination>): KernelDestination => ({ address: '10.244.2.6', port: 8080, forward: 'masq', weight: 0, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, ...over });
  it.each([
    ['drained: deleted', d({}), 1, 0],
    ['still busy: kept', d({ inactiveConns: 1 }), 0, 1],
    ['gone already: dropped', undefined, 0, 0],
    ['back in service (weight 1): dropped, not deleted', d({ weight: 1, activeConns: 4 }), 0, 0],
  ] as const)('%s', (_n, found, ops, left) => {
    const r = recheckPending(new Map([[pendingKey('10.96.0.10:80/TCP', '10.244.2.6:8080'), p]]), () => found);
    expect(r.ops.length).toBe(ops);
    expect(r.pending.size).toBe(left);
  });
});

describe('diffAddresses', () => {
  it('adds missing, removes stale, keeps excluded', () => {
    expect(diffAddresses(new Set(['10.96.0.1', '10.96.0.2']), new Set(['10.96.0.2', '10.96.0.3', '172.16.0.1']), (a) => a.startsWith('172.16.'))).toEqual({
      add: ['10.96.0.1'],
      remove: ['10.96.0.3'],
    });
  });
});

describe('applyOpsToModel', () => {
  it('after applying a diff, diffing again yields nothing', () => {
    const want = plan(['10.244.1.5', '10.244.2.6'], { nodePort: 30080, sessionAffinity: { type: 'ClientIP', timeoutSeconds: 5 } });
    const start = withDest(kernelOf(plan(['10.244.3.3'])), VS, { address: '10.244.7.7', weight: 0 });
    const d = run(want, start);
    const after = applyOpsToModel(start, d.ops);
    expect(run(want, after).ops).toEqual([]);
  });
});
