import { describe, expect, it } from 'vitest';
import type { Endpoint, IPFamily, NodeInfo, Proxier, ProxyState, ServicePort, SyncResult } from '../model/types.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { ProxyHealth } from './proxy-health.ts';
import { endpoint, servicePort } from '../model/testing/fixtures.ts';
import { SyncLoop, type ServiceHealthSink, type SyncStateSource } from './sync-loop.ts';
import { RecordingMetrics, recordingLogger } from './testing/recorders.ts';

const node: NodeInfo = { name: 'n1', labels: {}, zone: '', podCIDRs: [], eligible: true };

function port(ns: string, name: string, hcnp = 0): ServicePort {
  return servicePort(ns, name, { externalPolicyLocal: hcnp > 0, healthCheckNodePort: hcnp });
}

function ep(ip: string, isLocal: boolean, ready = true): Endpoint {
  return endpoint(ip, 8080, { ready, serving: ready, isLocal, nodeName: isLocal ? 'n1' : 'n2' });
}

/** A tiny change-tracking state: changes accumulate until a snapshot is committed. */
class FakeState implements SyncStateSource {
  synced = false;
  services = new Map<string, ServicePort>();
  endpoints = new Map<string, Endpoint[]>();
  changed = new Set<string>();
  oldest: number | undefined;
  commits = 0;
  readonly clock: FakeClock;
  constructor(clock: FakeClock) {
    this.clock = clock;
  }
  change(key: string, svc: ServicePort, eps: Endpoint[]): void {
    this.services.set(key, svc);
    this.endpoints.set(key, eps);
    this.changed.add(key);
    this.oldest ??= this.clock.now();
  }
  isSynced(): boolean {
    return this.synced;
  }
  snapshot(family: IPFamily, opts: { full: boolean }): ProxyState {
    return {
      family,
      services: new Map(this.services),
      endpoints: new Map(this.endpoints),
      node,
      changedServices: new Set(this.changed),
      changedEndpoints: new Set(this.changed),
      removedEndpoints: new Map(),
      full: opts.full,
    };
  }
  commit(s: ProxyState): void {
    this.commits++;
    for (const k of s.changedServices) this.changed.delete(k);
    if (this.changed.size === 0) this.oldest = undefined;
  }
  oldestPendingChange(): number | undefined {
    return this.oldest;
  }
}

class FakeProxier implements Proxier {
  readonly mode = 'iptables' as const;
  readonly seen: ProxyState[] = [];
  failNext = 0;
  readonly family: IPFamily;
  readonly clock: FakeClock;
  readonly durationMs = 5;
  constructor(family: IPFamily, clock: FakeClock) {
    this.family = family;
    this.clock = clock;
  }
  async sync(state: ProxyState): Promise<SyncResult> {
    this.seen.push(state);
    await new Promise<void>((r) => this.clock.setTimer(this.durationMs, r));
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('iptables-restore: exit 1');
    }
    return { kind: state.full ? 'full' : 'partial', counts: { 'nat-rules': state.services.size * 3, 'no-local-endpoints-external': 1 } };
  }
  async cleanup(): Promise<void> {}
}

class RecordingServiceHealth implements ServiceHealthSink {
  services = new Map<string, number>();
  endpoints = new Map<string, number>();
  syncServices(s: ReadonlyMap<string, number>): void {
    this.services = new Map(s);
  }
  syncEndpoints(e: ReadonlyMap<string, number>): void {
    this.endpoints = new Map(e);
  }
}

function setup(families: IPFamily[] = ['IPv4']) {
  const clock = new FakeClock(1_000_000);
  const state = new FakeState(clock);
  const proxiers = families.map((f) => new FakeProxier(f, clock));
  const metrics = new RecordingMetrics();
  const logger = recordingLogger();
  const health = new ProxyHealth({ clock, healthTimeoutMs: 60_000 });
  const serviceHealth = new RecordingServiceHealth();
  const loop = new SyncLoop({ clock, logger, state, proxiers, metrics, health, serviceHealth, minSyncPeriodMs: 1000, syncPeriodMs: 30_000 });
  return { clock, state, proxiers, metrics, logger, health, serviceHealth, loop };
}

describe('SyncLoop', () => {
  it('does not sync before the state has its initial lists', async () => {
    const t = setup();
    t.loop.start();
    t.state.change('a/web', port('a', 'web'), [ep('10.244.1.2', true)]);
    t.loop.requestSync();
    await t.clock.advance(5000);
    expect(t.proxiers[0]?.seen).toHaveLength(0);
    t.state.synced = true;
    t.loop.requestSync();
    await t.clock.advance(2000);
    expect(t.proxiers[0]?.seen).toHaveLength(1);
    expect(t.proxiers[0]?.seen[0]?.full).toBe(true);
  });

  it('commits on success, records metrics, then syncs partially', async () => {
    const t = setup();
    t.state.synced = true;
    t.state.change('a/web', port('a', 'web'), [ep('10.244.1.2', true)]);
    t.loop.start();
    await t.clock.advance(100);
    expect(t.state.commits).toBe(1);
    expect(t.metrics.syncs).toEqual([{ family: 'IPv4', kind: 'full', durationMs: 5 }]);
    expect(t.metrics.lastSync).toBe(1_000_005);
    expect(t.metrics.programming).toEqual([5]);
    expect(t.metrics.total).toEqual({ endpoints: 1, services: 1 });
    expect(t.metrics.pending).toEqual({ endpoints: 0, services: 0 });
    expect(t.metrics.rules.get('IPv4 nat')).toBe(3);
    expect(t.metrics.noLocal.get('IPv4 external')).toBe(1);

    await t.clock.advance(2000);
    t.state.change('a/api', port('a', 'api'), []);
    t.loop.requestSync();
    expect(t.metrics.lastQueued).toBe(t.clock.now());
    await t.clock.advance(100);
    const second = t.proxiers[0]?.seen[1];
    expect(second?.full).toBe(false);
    expect([...(second?.changedServices ?? [])]).toEqual(['a/api']);
    expect(t.metrics.syncs.at(-1)?.kind).toBe('partial');
  });

  it('keeps changes after a failure, retries with a full sync, and counts the error', async () => {
    const t = setup();
    t.state.synced = true;
    t.loop.start();
    await t.clock.advance(100);
    t.state.change('a/web', port('a', 'web'), [ep('10.244.1.2', true)]);
    const p = t.proxiers[0];
    if (p === undefined) throw new Error('no proxier');
    p.failNext = 1;
    await t.clock.advance(1000);
    t.loop.requestSync();
    await t.clock.advance(100);
    expect(t.metrics.errors).toEqual(['IPv4']);
    expect(t.state.changed.has('a/web')).toBe(true);
    expect(t.logger.entries.some((e) => e.level === 'error' && e.msg === 'sync of proxy rules failed')).toBe(true);
    await t.clock.advance(5000);
    const retry = p.seen.at(-1);
    expect(retry?.full).toBe(true);
    expect([...(retry?.changedServices ?? [])]).toEqual(['a/web']);
    expect(t.state.changed.size).toBe(0);
  });

  it('a burst of 1,000 change requests causes at most a handful of syncs', async () => {
    const t = setup();
    t.state.synced = true;
    t.loop.start();
    for (let i = 0; i < 1000; i++) {
      t.state.change(`a/s${i}`, port('a', `s${i}`), []);
      t.loop.requestSync();
      if (i % 100 === 0) await t.clock.advance(50);
    }
    await t.clock.advance(3000);
    expect(t.proxiers[0]?.seen.length).toBeLessThanOrEqual(4);
    expect(t.state.changed.size).toBe(0);
  });

  it('resyncs periodically and does a full sync after fullSyncPeriod', async () => {
    const t = setup();
    t.state.synced = true;
    t.loop.start();
    await t.clock.advance(3_600_000 + 31_000);
    const seen = t.proxiers[0]?.seen ?? [];
    expect(seen.length).toBeGreaterThanOrEqual(120);
    expect(seen.filter((s) => s.full)).toHaveLength(2);
  });

  it('syncs each family; one failing family does not block the other', async () => {
    const t = setup(['IPv4', 'IPv6']);
    t.state.synced = true;
    const v6 = t.proxiers[1];
    if (v6 === undefined) throw new Error('no proxier');
    v6.failNext = 1;
    t.loop.start();
    await t.clock.advance(100);
    expect(t.metrics.syncs.map((s) => s.family)).toEqual(['IPv4']);
    expect(t.metrics.errors).toEqual(['IPv6']);
    await t.clock.advance(2000);
    expect(t.metrics.syncs.map((s) => s.family)).toEqual(['IPv4', 'IPv4', 'IPv6']);
  });

  it('reports rule counts per family (ip_family label), not the last family synced', async () => {
    const t = setup(['IPv4', 'IPv6']);
    t.state.synced = true;
    t.state.change('a/web', port('a', 'web'), [ep('10.244.1.2', true)]);
    t.state.change('a/db', port('a', 'db'), [ep('10.244.1.3', true)]);
    t.loop.start();
    await t.clock.advance(100);
    // Each fake proxier reports 3 nat rules per service: 2 services x 3, in each family.
    expect(t.metrics.rules.get('IPv4 nat')).toBe(6);
    expect(t.metrics.rules.get('IPv6 nat')).toBe(6);
  });

  it('feeds service health checks with ports and local ready endpoint counts', async () => {
    const t = setup();
    t.state.synced = true;
    t.state.change('a/lb', port('a', 'lb', 31000), [ep('10.244.1.2', true), ep('10.244.1.3', true, false), ep('10.244.2.2', false)]);
    t.state.change('a/web', port('a', 'web'), [ep('10.244.1.4', true)]);
    t.loop.start();
    await t.clock.advance(100);
    expect([...t.serviceHealth.services]).toEqual([['a/lb', 31000]]);
    expect([...t.serviceHealth.endpoints]).toEqual([['a/lb', 1]]);
  });

  it('turns unhealthy when failures outlast the health timeout, healthy again after success', async () => {
    const t = setup();
    t.state.synced = true;
    t.loop.start();
    await t.clock.advance(100);
    const p = t.proxiers[0];
    if (p === undefined) throw new Error('no proxier');
    p.failNext = 100;
    t.state.change('a/web', port('a', 'web'), []);
    t.loop.requestSync();
    await t.clock.advance(59_000);
    expect(t.health.isHealthy()).toBe(true);
    await t.clock.advance(2000);
    expect(t.health.livez().status).toBe(503);
    p.failNext = 0;
    await t.clock.advance(31_000);
    expect(t.health.livez().status).toBe(200);
  });
});
