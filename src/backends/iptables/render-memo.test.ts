// The per-service-port memo: a partial render reuses unchanged ports without rendering them,
// so after any sequence of changes, the kernel (previous payloads applied in turn) must hold
// exactly what a full render of the current state would write, with the same counts.
import { describe, expect, it } from 'vitest';
import type { Endpoint, ProxyState, ServicePort, ServicePortName } from '../../model/types.ts';
import { renderRules, type RenderMemo } from './render.ts';
import { applyRestore, parseRestore, type ParsedTable } from './trace/restore-parse.ts';
import { checkJumps } from './testing/consistency.ts';
import { ep, makeState, svcPort, upstreamOptions } from './testing/fixtures.ts';

const opts = upstreamOptions();

function chainsOf(tables: Map<string, ParsedTable>, table: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [n, c] of tables.get(table)?.chains ?? []) out[n] = c.rules.map((r) => r.raw);
  return out;
}

/** Deterministic PRNG (mulberry32), so a failure names a reproducible seed. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

function randomService(r: (n: number) => number, i: number): ServicePort {
  const local = r(4) === 0;
  return svcPort(`ns${i % 3}`, `s${i}`, r(2) === 0 ? 'p80' : '', {
    clusterIP: `172.30.${i >> 8}.${i & 255}`,
    protocol: (['TCP', 'UDP', 'SCTP'] as const)[r(3)],
    nodePort: r(3) === 0 ? 30000 + i : 0,
    externalIPs: r(5) === 0 ? ['192.168.99.11'] : [],
    loadBalancerVIPs: r(5) === 0 ? ['1.2.3.4'] : [],
    loadBalancerSourceRanges: r(3) === 0 ? ['203.0.113.0/25'] : [],
    sessionAffinity: r(4) === 0 ? { type: 'ClientIP', timeoutSeconds: 10800 } : { type: 'None', timeoutSeconds: 0 },
    externalPolicyLocal: local,
    internalPolicyLocal: r(6) === 0,
    healthCheckNodePort: local && r(2) === 0 ? 31000 + i : 0,
  });
}

function randomEndpoints(r: (n: number) => number, i: number): Endpoint[] {
  const out: Endpoint[] = [];
  const n = r(5);
  for (let j = 0; j < n; j++) out.push(ep(`10.${i & 255}.${r(4)}.${r(20) + 1}`, 80, { isLocal: r(3) === 0, ready: r(6) !== 0, serving: true, terminating: r(8) === 0 }));
  return out;
}

/** One random change to `s`, flagged in changedServices/changedEndpoints as the model does. */
function mutate(r: (n: number) => number, s: ProxyState, next: { id: number }): ProxyState {
  const services = new Map(s.services);
  const endpoints = new Map(s.endpoints);
  const changedServices = new Set<ServicePortName>();
  const changedEndpoints = new Set<ServicePortName>();
  const names = [...services.keys()];
  const pick = names[r(Math.max(1, names.length))];
  const kind = pick === undefined ? 0 : r(5);
  if (kind === 0) {
    const svc = randomService(r, next.id++);
    services.set(svc.name, svc);
    endpoints.set(svc.name, randomEndpoints(r, next.id));
    changedServices.add(svc.name);
    changedEndpoints.add(svc.name);
  } else if (kind === 1 && pick !== undefined) {
    services.delete(pick);
    endpoints.delete(pick);
    changedServices.add(pick);
    changedEndpoints.add(pick);
  } else if (kind === 2 && pick !== undefined) {
    const old = services.get(pick) as ServicePort;
    const fresh = randomService(r, next.id++);
    services.set(pick, { ...fresh, name: old.name, namespace: old.namespace, serviceName: old.serviceName, portName: old.portName });
    changedServices.add(pick);
  } else if (pick !== undefined) {
    const eps = randomEndpoints(r, next.id++);
    if (eps.length === 0) endpoints.delete(pick);
    else endpoints.set(pick, eps);
    changedEndpoints.add(pick);
  }
  return { ...s, services, endpoints, changedServices, changedEndpoints, full: false };
}

describe('per-service-port memo', () => {
  it.each([1, 2, 3, 4, 5, 6])('partial renders after random changes equal a full render (seed %i)', (seed) => {
    const r = rng(seed);
    const next = { id: 0 };
    let state = makeState('IPv4', []);
    for (let i = 0; i < 12; i++) state = mutate(r, state, next);
    let out = renderRules({ ...state, full: true }, opts);
    let kernel = parseRestore(out.payload.text);
    let memo: RenderMemo = out.memo;
    for (let step = 0; step < 40; step++) {
      state = mutate(r, state, next);
      out = renderRules(state, opts, memo);
      kernel = applyRestore(kernel, out.payload.text);
      memo = out.memo;
      const full = renderRules({ ...state, full: true }, opts);
      const want = parseRestore(full.payload.text);
      expect(chainsOf(kernel, 'nat'), `seed ${seed} step ${step}`).toEqual(chainsOf(want, 'nat'));
      expect(chainsOf(kernel, 'filter'), `seed ${seed} step ${step}`).toEqual(chainsOf(want, 'filter'));
      expect(checkJumps(kernel)).toEqual([]);
      const { full: _a, servicePortsWritten: _b, natRulesWritten: _c, natChainsWritten: _d, deletedChains: _e, ...counts } = out.stats;
      const { full: _f, servicePortsWritten: _g, natRulesWritten: _h, natChainsWritten: _i, deletedChains: _j, ...wantCounts } = full.stats;
      expect(counts).toEqual(wantCounts);
    }
  });

  const a = svcPort('ns1', 'a', 'p80', { clusterIP: '172.30.0.1' });
  const b = svcPort('ns1', 'b', 'p80', { clusterIP: '172.30.0.2' });
  const base = makeState('IPv4', [[a, [ep('10.0.1.1', 80)]], [b, [ep('10.0.2.1', 80)]]]);

  it('does not render ports whose objects are unchanged and not flagged', () => {
    const first = renderRules(base, opts);
    const again = renderRules({ ...base, full: false }, opts, first.memo);
    expect(again.stats.servicePortsWritten).toBe(0);
    expect(again.memo.services.get(a.name)).toBe(first.memo.services.get(a.name));
  });

  it('renders and writes a port whose objects changed even when not flagged', () => {
    const first = renderRules(base, opts);
    const endpoints = new Map(base.endpoints).set(a.name, [ep('10.0.1.1', 80), ep('10.0.1.2', 80)]);
    const next: ProxyState = { ...base, endpoints, full: false, changedServices: new Set(), changedEndpoints: new Set() };
    const partial = renderRules(next, opts, first.memo);
    expect(partial.stats.servicePortsWritten).toBe(1);
    const kernel = applyRestore(parseRestore(first.payload.text), partial.payload.text);
    expect(chainsOf(kernel, 'nat')).toEqual(chainsOf(parseRestore(renderRules({ ...next, full: true }, opts).payload.text), 'nat'));
  });

  it('crossing the large-cluster threshold forces a full render (every SEP comment changes)', () => {
    const small = upstreamOptions('IPv4', { largeClusterEndpointsThreshold: 2 });
    const first = renderRules(base, small);
    expect(first.stats.largeClusterMode).toBe(false);
    const endpoints = new Map(base.endpoints).set(a.name, [ep('10.0.1.1', 80), ep('10.0.1.2', 80)]);
    const next: ProxyState = { ...base, endpoints, full: false, changedServices: new Set(), changedEndpoints: new Set([a.name]) };
    const r = renderRules(next, small, first.memo);
    expect(r.stats).toMatchObject({ full: true, largeClusterMode: true, servicePortsWritten: 2 });
    const kernel = applyRestore(parseRestore(first.payload.text), r.payload.text);
    expect(chainsOf(kernel, 'nat')).toEqual(chainsOf(parseRestore(renderRules({ ...next, full: true }, small).payload.text), 'nat'));
  });

  it('reuses endpoint chain names from the memo and drops names of endpoints that are gone', () => {
    const first = renderRules(base, opts);
    const endpoints = new Map(base.endpoints).set(a.name, [ep('10.0.1.2', 80)]);
    const next = renderRules({ ...base, endpoints, full: false, changedEndpoints: new Set([a.name]) }, opts, first.memo);
    expect(next.memo.services.get(a.name)?.names.eps.map((e) => `${e.ip}:${e.port}`)).toEqual(['10.0.1.2:80']);
    expect(next.memo.services.get(b.name)?.names).toBe(first.memo.services.get(b.name)?.names);
  });
});
