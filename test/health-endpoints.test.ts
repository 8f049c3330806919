// Issue 13, health and metrics, against the real daemon over HTTP in a namespace: /healthz and
// /livez with upstream's v1.33 per-IP-family body, /readyz (ours) 503 until every family's first
// sync has written its rules, the ip_family label on the sync metrics, and /statusz, /flagz and
// /configz on the metrics address as upstream serves them.
//
// To hold one family's first sync back, the daemon runs with a PATH whose ip6tables-nft-restore
// fails while a marker file exists and otherwise runs the real one (the fault is injected at the
// command boundary; the rules that land are real). The IPv4 family syncs at once.
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HEALTHZ, METRICS, httpGetIn, metricValue, pollUntil, usePrivateXtablesLock, type Daemon } from './support/daemon.ts';
import { createNamespace, deleteNamespace } from './support/netns.ts';
import { pathWithout, startDaemonWithPath } from './support/path-without.ts';
import { describeWith } from './support/requirements.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/manifests', import.meta.url));
const RESTORE6 = 'ip6tables-nft-restore';

function realBinary(name: string): string {
  const found = ['/usr/sbin', '/sbin', '/usr/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
  if (found === undefined) throw new Error(`${name} not installed`);
  return found;
}

async function get(ns: string, path: string, base = HEALTHZ): Promise<{ status: number; body: string }> {
  const r = await httpGetIn(ns, `http://${base}${path}`);
  if (!('status' in r)) throw new Error(`GET ${path}: ${r.error}`);
  return r;
}

describeWith('health, readiness and debug pages of the running daemon', ['root', 'iptables'], () => {
  let ns = '';
  let daemon: Daemon | undefined;
  let restoreLock: (() => void) | undefined;
  let path: { readonly path: string; remove(): void } | undefined;
  const marker = join(tmpdir(), `kpt-hold-ipv6-${process.pid}`);

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('health');
    path = pathWithout(new RegExp(`^${RESTORE6}$`));
    const wrapper = join(path.path, RESTORE6);
    writeFileSync(wrapper, `#!/bin/sh\nif [ -e '${marker}' ]; then echo 'held by the test' >&2; exit 1; fi\nexec '${realBinary(RESTORE6)}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    writeFileSync(marker, '');
    daemon = startDaemonWithPath(ns, path.path, [
      '--manifests', FIXTURE, '--hostname-override', 'node-a', '--iptables-backend', 'nft', '--iptables-sync-period', '10s',
      '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);
  });
  afterAll(async () => {
    await daemon?.stop();
    if (ns !== '') await deleteNamespace(ns);
    path?.remove();
    rmSync(marker, { force: true });
    restoreLock?.();
  });

  const metrics = async (): Promise<string> => (await get(ns, '/metrics', METRICS)).body;

  it('while one family has not synced: /healthz and /livez 200 with per-family status, /readyz 503', async () => {
    await pollUntil('IPv4 synced', 30_000, async () =>
      (metricValue(await metrics(), 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}') ?? 0) > 0 ? true : undefined,
    );
    await pollUntil('an IPv6 sync failed', 30_000, async () =>
      (metricValue(await metrics(), 'kubeproxy_sync_proxy_rules_errors_total{ip_family="IPv6"}') ?? 0) > 0 ? true : undefined,
    );
    const hz = await get(ns, '/healthz');
    expect(hz.status, hz.body).toBe(200);
    const body = JSON.parse(hz.body) as Record<string, unknown>;
    expect(body).toMatchObject({ nodeEligible: true, healthy: true, status: { IPv4: { healthy: true }, IPv6: { healthy: true } } });
    expect(Object.keys(body)).toEqual(['lastUpdated', 'currentTime', 'nodeEligible', 'healthy', 'status']);
    const lz = await get(ns, '/livez');
    expect(lz.status).toBe(200);
    expect('nodeEligible' in (JSON.parse(lz.body) as object)).toBe(false);

    const rz = await get(ns, '/readyz');
    expect(rz.status, rz.body).toBe(503);
    expect(JSON.parse(rz.body)).toMatchObject({ ready: false, waitingForFirstSync: ['IPv6'] });

    const m = await metrics();
    expect(metricValue(m, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"}')).toBeUndefined();
    expect(metricValue(m, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv6"}') ?? 0).toBeGreaterThan(0);
    expect(m).toMatch(/^kubeproxy_sync_full_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} [1-9]/m);
    expect(metricValue(m, 'kubeproxy_sync_proxy_rules_iptables_total{table="nat",ip_family="IPv4"}') ?? 0).toBeGreaterThan(0);
  }, 90_000);

  it('/readyz turns 200 once the last family has written its rules', async () => {
    rmSync(marker);
    const rz = await pollUntil('ready', 40_000, async () => {
      const r = await get(ns, '/readyz');
      return r.status === 200 ? r : undefined;
    });
    expect(JSON.parse(rz.body)).toMatchObject({ ready: true, healthy: true, waitingForFirstSync: [] });
    expect(metricValue(await metrics(), 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"}') ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('/statusz, /flagz and /configz answer on the metrics address', async () => {
    const statusz = await get(ns, '/statusz', METRICS);
    expect(statusz.status).toBe(200);
    expect(statusz.body).toContain('\nkube-proxy statusz\nWarning: This endpoint is not meant to be machine parseable');
    expect(statusz.body).toMatch(/^Paths(:|: |=| ) \/configz \/flagz \/healthz \/kubeproxyts\/status \/metrics \/proxyMode \/statusz$/m);
    expect(statusz.body).toMatch(/^Started(:|: |=| ) \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}$/m);
    const flagz = await get(ns, '/flagz', METRICS);
    expect(flagz.body).toMatch(/^iptables-sync-period(:|: |=| )10s$/m);
    expect(flagz.body).toMatch(/^proxy-mode(:|: |=| )iptables$/m);
    expect(flagz.body).toMatch(/^masquerade-all(:|: |=| )false$/m);
    const configz = JSON.parse((await get(ns, '/configz', METRICS)).body) as Record<string, Record<string, unknown>>;
    expect(configz['kubeproxy.config.k8s.io']).toMatchObject({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'iptables', iptables: { syncPeriod: '10s' },
    });
  });
});
