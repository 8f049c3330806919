// Partial syncs (KEP-3453, upstream syncProxyRules with doFullSync=false): only changed
// service ports' chains are written, stale chains are deleted, and applying the partial
// payload on top of the previous one gives exactly what a full render gives.
import { describe, expect, it } from 'vitest';
import type { Endpoint, ProxyState } from '../../model/types.ts';
import { chainsOf as memoChains, type ServiceMemo } from './render-memo.ts';
import { renderRules, type RenderResult } from './render.ts';
import { applyRestore, parseRestore, type ParsedTable } from './trace/restore-parse.ts';
import { checkJumps } from './testing/consistency.ts';
import { ep, makeState, svcPort, upstreamOptions } from './testing/fixtures.ts';
import { bigState } from './testing/scale.ts';

const ownChains = (m: ServiceMemo | undefined): string[] => (m === undefined ? [] : memoChains(m));

const opts = upstreamOptions();

function chainsOf(tables: Map<string, ParsedTable>, table: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [n, c] of tables.get(table)?.chains ?? []) out[n] = c.rules.map((r) => r.raw);
  return out;
}

function withEndpoints(state: ProxyState, name: string, eps: readonly Endpoint[], full = false): ProxyState {
  const endpoints = new Map(state.endpoints);
  if (eps.length === 0) endpoints.delete(name);
  else endpoints.set(name, eps);
  return { ...state, endpoints, full, changedServices: new Set(), changedEndpoints: new Set([name]) };
}

describe('partial sync', () => {
  const a = svcPort('ns1', 'a', 'p80', { clusterIP: '172.30.0.1', nodePort: 3001 });
  const b = svcPort('ns1', 'b', 'p80', { clusterIP: '172.30.0.2' });
  const base = makeState('IPv4', [[a, [ep('10.0.1.1', 80), ep('10.0.1.2', 80)]], [b, [ep('10.0.2.1', 80)]]]);

  it('writes only the changed service chains, and the result equals a full render', () => {
    const first = renderRules(base, opts);
    const next = withEndpoints(base, a.name, [ep('10.0.1.1', 80), ep('10.0.1.3', 80)]);
    const partial = renderRules(next, opts, first.memo);
    expect(partial.stats).toMatchObject({ full: false, servicePortsWritten: 1, deletedChains: 1 });
    // b's chains are not mentioned at all, so iptables-restore leaves them alone; nor is
    // KUBE-SERVICES, whose rules did not change.
    for (const c of ownChains(first.memo.services.get(b.name))) expect(partial.payload.nat).not.toContain(c);
    expect(partial.payload.nat).not.toContain(':KUBE-SERVICES ');
    // The removed endpoint's chain is flushed and deleted.
    const gone = ownChains(first.memo.services.get(a.name)).find((c) => !ownChains(partial.memo.services.get(a.name)).includes(c));
    expect(gone).toBeDefined();
    expect(partial.payload.nat).toContain(`:${gone} - [0:0]\n`);
    expect(partial.payload.nat).toContain(`-X ${gone}\n`);

    const kernel = applyRestore(parseRestore(first.payload.text), partial.payload.text);
    const full = parseRestore(renderRules({ ...next, full: true }, opts).payload.text);
    expect(chainsOf(kernel, 'nat')).toEqual(chainsOf(full, 'nat'));
    expect(chainsOf(kernel, 'filter')).toEqual(chainsOf(full, 'filter'));
    expect(checkJumps(kernel)).toEqual([]);
  });

  it('writes nothing but table headers when nothing changed', () => {
    const first = renderRules(base, opts);
    const again = renderRules({ ...base, full: false }, opts, first.memo);
    expect(again.payload.text).toBe('*filter\nCOMMIT\n*nat\nCOMMIT\n');
    expect(again.stats).toMatchObject({ servicePortsWritten: 0, natRulesWritten: 0, natRulesTotal: first.stats.natRulesTotal });
  });

  it('rewrites KUBE-SERVICES when a service is added', () => {
    const first = renderRules(base, opts);
    const c = svcPort('ns1', 'c', 'p80', { clusterIP: '172.30.0.3' });
    const services = new Map(base.services).set(c.name, c);
    const endpoints = new Map(base.endpoints).set(c.name, [ep('10.0.3.1', 80)]);
    const next: ProxyState = { ...base, services, endpoints, full: false, changedServices: new Set([c.name]) };
    const partial = renderRules(next, opts, first.memo);
    expect(partial.payload.nat).toContain(':KUBE-SERVICES - [0:0]\n');
    const kernel = applyRestore(parseRestore(first.payload.text), partial.payload.text);
    expect(chainsOf(kernel, 'nat')).toEqual(chainsOf(parseRestore(renderRules({ ...next, full: true }, opts).payload.text), 'nat'));
  });

  it('deletes every chain of a removed service', () => {
    const first = renderRules(base, opts);
    const services = new Map(base.services);
    services.delete(b.name);
    const next: ProxyState = { ...base, services, full: false, changedServices: new Set([b.name]) };
    const partial = renderRules(next, opts, first.memo);
    for (const c of ownChains(first.memo.services.get(b.name))) expect(partial.payload.nat).toContain(`-X ${c}\n`);
    const kernel = applyRestore(parseRestore(first.payload.text), partial.payload.text);
    expect(chainsOf(kernel, 'nat')).toEqual(chainsOf(parseRestore(renderRules({ ...next, full: true }, opts).payload.text), 'nat'));
  });

  it('a service losing all endpoints drops its chains and gets a REJECT', () => {
    const first = renderRules(base, opts);
    const partial = renderRules(withEndpoints(base, b.name, []), opts, first.memo);
    expect(partial.payload.filter).toContain('"ns1/b:p80 has no endpoints"');
    expect(partial.stats.deletedChains).toBe(ownChains(first.memo.services.get(b.name)).length);
  });

  it('full renders are self-contained and ignore the memo for what they write', () => {
    const first = renderRules(base, opts);
    const again = renderRules({ ...base, full: true }, opts, first.memo);
    expect(again.payload.text).toBe(first.payload.text);
    expect(again.stats.servicePortsWritten).toBe(2);
  });

  it('rewrites an unchanged-looking service whose chains changed (missed change)', () => {
    const first = renderRules(base, opts);
    const next = { ...withEndpoints(base, a.name, [ep('10.0.1.9', 80)]), changedEndpoints: new Set<string>() };
    const partial = renderRules(next, opts, first.memo);
    expect(partial.stats.servicePortsWritten).toBe(1);
    const kernel = applyRestore(parseRestore(first.payload.text), partial.payload.text);
    expect(checkJumps(kernel)).toEqual([]);
  });

  it('different options force a full render that also deletes chains from the old memo', () => {
    const first = renderRules(base, opts);
    const services = new Map(base.services);
    services.delete(b.name);
    const r = renderRules({ ...base, services, full: false }, upstreamOptions('IPv4', { masqueradeAll: true }), first.memo);
    expect(r.stats.full).toBe(true);
    for (const c of ownChains(first.memo.services.get(b.name))) expect(r.payload.nat).toContain(`-X ${c}\n`);
  });

  it('deletes stale service chains the applier found in the kernel (restart without memo)', () => {
    const r = renderRules(base, upstreamOptions('IPv4', { existingNatChains: ['KUBE-SVC-AAAAAAAAAAAAAAAA', 'KUBE-SERVICES', 'DOCKER'] }));
    expect(r.payload.nat).toContain('-X KUBE-SVC-AAAAAAAAAAAAAAAA\n');
    expect(r.payload.nat).not.toContain('-X DOCKER');
    expect(r.payload.nat).not.toContain('-X KUBE-SERVICES');
  });

  it('one endpoint change at 10,000 services is at most 1% of the full payload', () => {
    const state = bigState(10_000, 10);
    const first: RenderResult = renderRules(state, opts);
    const name = [...state.services.keys()][1234] as string;
    const eps = [...(state.endpoints.get(name) ?? [])];
    eps[0] = ep('10.250.250.250', 8080);
    const partial = renderRules(withEndpoints(state, name, eps), opts, first.memo);
    expect(partial.stats.servicePortsWritten).toBe(1);
    expect(partial.payload.text.length).toBeLessThanOrEqual(first.payload.text.length / 100);
    expect(partial.stats.natRulesTotal).toBe(first.stats.natRulesTotal);
  });
});
