import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeProxyError } from '../errors.ts';
import { FakeClock } from '../sync/testing/fake-clock.ts';
import { ProxyHealth } from '../sync/proxy-health.ts';
import { recordingLogger } from '../sync/testing/recorders.ts';
import { startHealthzServer, startMetricsServer, type RunningServer } from './http-servers.ts';
import { closeServer, listen } from './listen.ts';
import { PromMetrics } from './metrics.ts';

const started: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

async function healthz() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const health = new ProxyHealth({ clock, healthTimeoutMs: 60_000 });
  const metrics = new PromMetrics({ defaultMetrics: false });
  const server = await startHealthzServer({ host: '127.0.0.1', port: 0, health, metrics, logger: recordingLogger() });
  started.push(server);
  return { clock, health, metrics, url: `http://127.0.0.1:${server.port}` };
}

describe('healthz server', () => {
  it('answers /healthz and /livez with upstream status, headers and body, and counts them', async () => {
    const t = await healthz();
    let res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.json()).toMatchObject({ lastUpdated: '2026-01-01T00:00:00.000Z', currentTime: '2026-01-01T00:00:00.000Z', nodeEligible: true });

    t.health.updated('IPv4');
    t.health.queuedUpdate('IPv4');
    await t.clock.advance(61_000);
    res = await fetch(`${t.url}/livez`);
    expect(res.status).toBe(503);
    await res.body?.cancel();

    t.health.updated('IPv4');
    t.health.setNodeEligible(false);
    res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ nodeEligible: false });
    res = await fetch(`${t.url}/livez`);
    expect(res.status).toBe(200);
    await res.body?.cancel();

    const body = (await t.metrics.render()).body;
    expect(body).toContain('kubeproxy_proxy_healthz_total{code="200"} 1');
    expect(body).toContain('kubeproxy_proxy_healthz_total{code="503"} 1');
    expect(body).toContain('kubeproxy_proxy_livez_total{code="503"} 1');
    expect(body).toContain('kubeproxy_proxy_livez_total{code="200"} 1');
  });

  it('answers 404 elsewhere', async () => {
    const t = await healthz();
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });
});

describe('metrics server', () => {
  it('serves /metrics, /proxyMode, /healthz and /configz', async () => {
    const metrics = new PromMetrics();
    metrics.observeSync('IPv4', 'full', 12);
    const server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      render: () => metrics.render(),
      proxyMode: 'iptables',
      configz: () => ({ mode: 'iptables' }),
      logger: recordingLogger(),
    });
    started.push(server);
    const url = `http://127.0.0.1:${server.port}`;
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} 1$/m);
    expect(text).toMatch(/^kubeproxy_sync_full_proxy_rules_duration_seconds_sum\{ip_family="IPv4"\} 0.012$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(await (await fetch(`${url}/proxyMode`)).text()).toBe('iptables');
    expect(await (await fetch(`${url}/healthz`)).text()).toBe('ok');
    expect(await (await fetch(`${url}/configz`)).json()).toEqual({ 'kubeproxy.config.k8s.io': { mode: 'iptables' } });
  });

  it('serves /flagz and /statusz as component-base zpages: text only, header, sorted flags, the paths', async () => {
    const server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      render: async () => ({ contentType: 'text/plain', body: '' }),
      proxyMode: 'ipvs',
      configz: () => ({}),
      flagz: () => ({ 'proxy-mode': 'ipvs', 'bind-address': '0.0.0.0' }),
      statusz: { startedMs: Date.UTC(2026, 0, 2, 3, 4, 5), binaryVersion: 'v9.9.9', now: () => Date.UTC(2026, 0, 2, 4, 5, 7) },
      pickDelimiter: () => '=',
      logger: recordingLogger(),
    });
    started.push(server);
    const url = `http://127.0.0.1:${server.port}`;
    const flagz = await fetch(`${url}/flagz`);
    expect(flagz.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await flagz.text()).toBe(
      '\nkube-proxy flagz\nWarning: This endpoint is not meant to be machine parseable, has no formatting compatibility guarantees and is for debugging purposes only.\nbind-address=0.0.0.0\nproxy-mode=ipvs\n',
    );
    const statusz = await (await fetch(`${url}/statusz`, { headers: { Accept: 'text/plain; charset=utf-8' } })).text();
    expect(statusz).toContain('\nkube-proxy statusz\nWarning: This endpoint is not meant to be machine parseable');
    expect(statusz).toContain('\nStarted= Fri Jan  2 03:04:05 UTC 2026\nUp= 1 hr 01 min 02 sec\n');
    expect(statusz).toContain('Binary version= v9.9.9\n');
    expect(statusz).toContain('Paths= /configz /flagz /healthz /metrics /proxyMode /statusz\n');
    const json = await fetch(`${url}/statusz`, { headers: { Accept: 'application/json' } });
    expect(json.status).toBe(406);
    expect(await json.text()).toBe('media type not acceptable, must be: text/plain\n');
  });

  it('serves our JSON status at /kubeproxyts/status beside upstream text /statusz, and lists it in Paths', async () => {
    const server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      render: async () => ({ contentType: 'text/plain', body: '' }),
      proxyMode: 'nftables',
      statusz: { startedMs: 0, binaryVersion: 'v9.9.9' },
      daemonStatus: () => ({ mode: 'nftables', families: {} }),
      pickDelimiter: () => '=',
      logger: recordingLogger(),
    });
    started.push(server);
    const url = `http://127.0.0.1:${server.port}`;
    const ours = await fetch(`${url}/kubeproxyts/status`);
    expect(ours.headers.get('content-type')).toBe('application/json');
    expect(await ours.json()).toEqual({ mode: 'nftables', families: {} });
    const statusz = await (await fetch(`${url}/statusz`)).text();
    expect(statusz).toContain('\nkube-proxy statusz\n');
    expect(statusz).toContain('Paths= /healthz /kubeproxyts/status /metrics /proxyMode /statusz\n');
  });
});

describe('listen', () => {
  it('reports a bind failure with the server, the address and the errno', async () => {
    const holder = createServer();
    const held = await listen('holder', holder, '127.0.0.1', 0);
    try {
      const err = await startMetricsServer({
        host: '127.0.0.1',
        port: held.port,
        render: async () => ({ contentType: 'text/plain', body: '' }),
        proxyMode: 'iptables',
        logger: recordingLogger(),
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(KubeProxyError.is(err)).toBe(true);
      expect((err as KubeProxyError).code).toBe('KP_ERR_SERVER');
      expect((err as Error).message).toBe(`metrics server: cannot listen on 127.0.0.1:${held.port}: listen EADDRINUSE: address already in use 127.0.0.1:${held.port}`);
    } finally {
      await closeServer(holder);
    }
  });

  it('closes with an idle keep-alive connection open', async () => {
    const t = await healthz();
    const res = await fetch(`${t.url}/livez`);
    await res.text();
    const server = started.pop();
    await server?.close();
    await expect(fetch(`${t.url}/livez`)).rejects.toThrow();
  });
});
