// The sync core wired as main.ts wires it, on the real clock: SyncLoop → PromMetrics and
// ProxyHealth, served by the healthz, metrics and service health-check servers on loopback.
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { endpoint, servicePort } from '../src/model/testing/fixtures.ts';
import type { Endpoint, IPFamily, Proxier, ProxyState, ServicePort, SyncResult } from '../src/model/types.ts';
import { startHealthzServer, startMetricsServer, type RunningServer } from '../src/server/http-servers.ts';
import { listen } from '../src/server/listen.ts';
import { PromMetrics } from '../src/server/metrics.ts';
import { realClock } from '../src/server/real-clock.ts';
import { ServiceHealthServer } from '../src/server/service-health.ts';
import { ProxyHealth } from '../src/sync/proxy-health.ts';
import { SyncLoop, type SyncStateSource } from '../src/sync/sync-loop.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';

const local: Endpoint = endpoint('10.244.1.5', 8080, { isLocal: true, nodeName: 'n1' });

function lbPort(hcnp: number): ServicePort {
  return servicePort('demo', 'lb', {
    clusterIP: '10.96.0.20', nodePort: 30080, loadBalancerVIPs: ['192.0.2.100'], externalPolicyLocal: true, healthCheckNodePort: hcnp,
  });
}

class State implements SyncStateSource {
  synced = false;
  services = new Map<string, ServicePort>();
  isSynced(): boolean {
    return this.synced;
  }
  snapshot(family: IPFamily, opts: { full: boolean }): ProxyState {
    return {
      family, full: opts.full, services: new Map(this.services), endpoints: new Map([['demo/lb', [local]]]),
      node: { name: 'n1', labels: {}, zone: '', podCIDRs: [], eligible: true },
      changedServices: new Set(this.services.keys()), changedEndpoints: new Set(), removedEndpoints: new Map(),
    };
  }
  commit(): void {}
}

class Proxy implements Proxier {
  readonly mode = 'iptables' as const;
  readonly family = 'IPv4' as const;
  fail = false;
  async sync(state: ProxyState): Promise<SyncResult> {
    if (this.fail) throw new Error('iptables-restore: exit 2');
    return { kind: state.full ? 'full' : 'partial', counts: { 'nat-rules': 42, 'filter-rules': 7 } };
  }
}

let hcnp = 0;
const metrics = new PromMetrics();
const health = new ProxyHealth({ clock: realClock, healthTimeoutMs: 60_000 });
const logger = recordingLogger();
const state = new State();
const proxier = new Proxy();
const serviceHealth = new ServiceHealthServer({ addresses: ['127.0.0.1'], proxyHealthy: () => health.isHealthy(), logger });
const loop = new SyncLoop({ clock: realClock, logger, state, proxiers: [proxier], metrics, health, serviceHealth, minSyncPeriodMs: 10, syncPeriodMs: 60_000 });
let healthzSrv: RunningServer;
let metricsSrv: RunningServer;

async function scrape(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${metricsSrv.port}/metrics`)).text();
}

beforeAll(async () => {
  const probe = await listen('probe', createServer(), '127.0.0.1', 0);
  hcnp = probe.port;
  await probe.close();
  healthzSrv = await startHealthzServer({ host: '127.0.0.1', port: 0, health, metrics, logger });
  metricsSrv = await startMetricsServer({ host: '127.0.0.1', port: 0, render: () => metrics.render(), proxyMode: 'iptables', logger });
  state.services.set('demo/lb', lbPort(hcnp));
  loop.start();
});

afterAll(async () => {
  await loop.stop();
  await serviceHealth.close();
  await healthzSrv.close();
  await metricsSrv.close();
});

describe('sync loop with servers', () => {
  it('does not program before the initial lists, then syncs, reports metrics and health', async () => {
    loop.requestSync();
    await vi.waitFor(() => expect(logger.entries.map((e) => e.msg)).toContain('not syncing: cluster state has not finished its initial lists'));
    expect(await scrape()).not.toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count/m);

    state.synced = true;
    loop.requestSync();
    await vi.waitFor(async () => expect(await scrape()).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} 1$/m), { timeout: 10_000 });
    const text = await scrape();
    expect(text).toMatch(/^kubeproxy_sync_full_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} 1$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_iptables_total\{table="nat",ip_family="IPv4"\} 42$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_service_changes_total 1$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_last_timestamp_seconds\{ip_family="IPv4"\} \d{10}/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds\{ip_family="IPv4"\} \d{10}/m);

    const hz = await fetch(`http://127.0.0.1:${healthzSrv.port}/healthz`);
    expect(hz.status).toBe(200);
    expect(await hz.json()).toMatchObject({ nodeEligible: true, healthy: true });

    await serviceHealth.settled();
    const lb = await fetch(`http://127.0.0.1:${hcnp}/`);
    expect(lb.status).toBe(200);
    expect(await lb.json()).toEqual({ service: { namespace: 'demo', name: 'lb' }, localEndpoints: 1, serviceProxyHealthy: true });
  });

  it('counts a failed sync and logs it', async () => {
    proxier.fail = true;
    loop.requestSync();
    await vi.waitFor(async () => expect(await scrape()).toMatch(/^kubeproxy_sync_proxy_rules_errors_total\{ip_family="IPv4"\} 1$/m), { timeout: 10_000 });
    expect(logger.entries.some((e) => e.level === 'error' && e.msg === 'sync of proxy rules failed')).toBe(true);
    expect(await scrape()).toMatch(/^kubeproxy_proxy_healthz_total\{code="200"\} 1$/m);
  });
});
