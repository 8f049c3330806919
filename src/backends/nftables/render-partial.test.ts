// Partial syncs: only what changed is written, elements are diffed in memory, stale chains are
// flushed at once and deleted a second later in their own transaction, and the table a series
// of partial syncs leaves is the one a full sync of the final state writes.
import { describe, expect, it } from 'vitest';
import { overallState } from '../iptables/testing/upstream-cases.ts';
import { ep, makeState, svcPort } from '../iptables/testing/fixtures.ts';
import type { ProxyState } from '../../model/types.ts';
import { renderTransaction, type NftMemo } from './render.ts';
import { FakeTable, sortTransaction } from './testing/fake-table.ts';
import { upstreamNftOptions } from './testing/fixtures.ts';

const opts = upstreamNftOptions('IPv4', { batchElements: true });

function driver() {
  const table = new FakeTable();
  let memo: NftMemo | undefined;
  return {
    table,
    sync(state: ProxyState, nowMs = 0) {
      const r = renderTransaction({ state, opts, memo, nowMs, recreateBaseChains: memo === undefined });
      memo = r.memo;
      table.apply(r.deferredDeletes);
      table.apply(r.transaction);
      return r;
    },
  };
}

const fullDump = (state: ProxyState): string => {
  const t = new FakeTable();
  t.apply(renderTransaction({ state: { ...state, full: true }, opts, nowMs: 0 }).transaction);
  return sortTransaction(t.dump());
};

describe('partial nftables syncs', () => {
  it('writes nothing when nothing changed', () => {
    const d = driver();
    const state = overallState({ full: false });
    expect(d.sync({ ...state, full: true }).stats.full).toBe(true);
    const r = d.sync(state);
    expect(r.transaction).toBe('');
    expect(r.stats).toMatchObject({ full: false, portsWritten: 0, elementOps: 0 });
  });

  it('writes only the changed port’s chain and its changed elements', () => {
    const d = driver();
    const state = overallState({ full: false });
    d.sync({ ...state, full: true });
    const name = 'ns4/svc4:p80';
    const svc = state.services.get(name);
    if (svc === undefined) throw new Error('fixture');
    const endpoints = new Map(state.endpoints);
    endpoints.set(name, [ep('10.180.0.4', 80)]);
    const next = { ...state, endpoints, changedEndpoints: new Set([name]) };
    const r = d.sync(next);
    expect(r.transaction.split('\n').filter((l) => l !== '')).toEqual([
      'add chain ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80',
      'flush chain ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80',
      'add chain ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80',
      'flush chain ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80',
      'add rule ip kube-proxy service-LAUZTJTB-ns4/svc4/tcp/p80 meta l4proto tcp dnat ip addr . port to numgen random mod 1 map { 0 : 10.180.0.4 . 80 }',
      'add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 mark set mark or 0x4000 comment "masquerade"',
      'add rule ip kube-proxy external-LAUZTJTB-ns4/svc4/tcp/p80 goto service-LAUZTJTB-ns4/svc4/tcp/p80',
      // The local endpoint left: its hairpin element goes; nothing else changed.
      'delete element ip kube-proxy hairpin-connections { 10.180.0.5 . 10.180.0.5 . tcp . 80 }',
    ]);
    expect(sortTransaction(d.table.dump())).toBe(fullDump(next));
  });

  it('moves a service to no-endpoints with element diffs, flushes its chains now and deletes them a second later', () => {
    const d = driver();
    const state = overallState({ full: false });
    d.sync({ ...state, full: true }, 0);
    const name = 'ns3/svc3:p80';
    const endpoints = new Map(state.endpoints);
    endpoints.set(name, []);
    const next = { ...state, endpoints, changedEndpoints: new Set([name]) };
    const r = d.sync(next, 100);
    expect(r.transaction).toContain('delete element ip kube-proxy service-ips { 172.30.0.43 . tcp . 80 }');
    expect(r.transaction).toContain('add element ip kube-proxy no-endpoint-services { 172.30.0.43 . tcp . 80 comment "ns3/svc3:p80" : goto reject-chain }');
    expect(r.transaction).toContain('flush chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80');
    expect(r.deferredDeletes).toBe('');
    expect(d.sync(next, 600).deferredDeletes).toBe('');
    const later = d.sync(next, 1200);
    expect(later.deferredDeletes).toBe('delete chain ip kube-proxy service-4AT6LBPK-ns3/svc3/tcp/p80\ndelete chain ip kube-proxy external-4AT6LBPK-ns3/svc3/tcp/p80\n');
    expect(later.transaction).toBe('');
    expect(sortTransaction(d.table.dump())).toBe(fullDump(next));
  });

  it('deletes a removed service’s elements and affinity sets, keeping a ClusterIP another port still uses', () => {
    const a = svcPort('ns', 'multi', 'a', { clusterIP: '172.30.1.1', port: 80, sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } });
    const b = svcPort('ns', 'multi', 'b', { clusterIP: '172.30.1.1', port: 81 });
    const d = driver();
    d.sync(makeState('IPv4', [[a, [ep('10.1.0.1', 80)]], [b, [ep('10.1.0.1', 81)]]], { full: true }));
    const next = makeState('IPv4', [[b, [ep('10.1.0.1', 81)]]], { full: false });
    const r = d.sync(next, 0);
    expect(r.transaction).not.toContain('delete element ip kube-proxy cluster-ips');
    expect(r.transaction).toMatch(/delete set ip kube-proxy affinity-[A-Z2-7]{8}-ns\/multi\/tcp\/a__10\.1\.0\.1\/80/);
    expect([...(d.table.containers.get('cluster-ips')?.elements.keys() ?? [])]).toEqual(['172.30.1.1']);
    d.sync(next, 5000);
    expect(sortTransaction(d.table.dump())).toBe(fullDump(next));
  });

  it('a full sync after partial ones flushes the containers and adds every element back', () => {
    const d = driver();
    const state = overallState({ full: false });
    d.sync({ ...state, full: true });
    const r = d.sync({ ...state, full: true });
    expect(r.transaction).toContain('flush map ip kube-proxy service-ips');
    expect(r.stats.portsWritten).toBe(state.services.size);
    expect(sortTransaction(d.table.dump())).toBe(fullDump(state));
  });

  it('after a restart flushes the kernel’s stale service chains and affinity sets it was told about', () => {
    const r = renderTransaction({
      state: overallState({ full: true }), opts, nowMs: 0,
      existing: { chains: ['services', 'service-OLD00000-gone/svc/tcp/p'], sets: ['affinity-OLD00000-gone/svc/tcp/p__1.1.1.1/1', 'cluster-ips'] },
    });
    expect(r.transaction).toContain('flush chain ip kube-proxy service-OLD00000-gone/svc/tcp/p\n');
    expect(r.transaction).toContain('delete set ip kube-proxy affinity-OLD00000-gone/svc/tcp/p__1.1.1.1/1\n');
    expect(r.transaction).not.toContain('delete set ip kube-proxy cluster-ips');
    expect(r.memo.staleChains.has('service-OLD00000-gone/svc/tcp/p')).toBe(true);
  });

  it('with the change tracker’s sets (removedServices present) looks only at the ports they name', () => {
    const a = svcPort('ns', 'multi', 'a', { clusterIP: '172.30.1.1', port: 80, sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } });
    const b = svcPort('ns', 'multi', 'b', { clusterIP: '172.30.1.1', port: 81 });
    const c = svcPort('ns', 'other', '', { clusterIP: '172.30.1.2', port: 80 });
    const d = driver();
    d.sync(makeState('IPv4', [[a, [ep('10.1.0.1', 80)]], [b, [ep('10.1.0.1', 81)]], [c, [ep('10.1.0.2', 80)]]], { full: true }));
    // a removed, c's endpoints changed; b untouched (a new but equal endpoint array is not looked at).
    const next = makeState('IPv4', [[b, [ep('10.1.0.1', 81)]], [c, [ep('10.1.0.3', 80)]]], {
      full: false, changedServices: new Set([a.name]), changedEndpoints: new Set([c.name]), removedServices: new Map([[a.name, a]]),
    });
    const r = d.sync(next, 0);
    expect(r.stats.portsWritten).toBe(1);
    expect(r.transaction).toMatch(/delete set ip kube-proxy affinity-[A-Z2-7]{8}-ns\/multi\/tcp\/a__10\.1\.0\.1\/80/);
    expect(r.transaction).toContain('10.1.0.3 . 80');
    expect(r.transaction).not.toContain('ns/multi/tcp/b');
    d.sync({ ...next, changedServices: new Set(), changedEndpoints: new Set(), removedServices: new Map() }, 5000);
    expect(sortTransaction(d.table.dump())).toBe(fullDump(next));
  });
});
