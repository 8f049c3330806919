import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingLogger } from '../sync/testing/recorders.ts';
import { closeServer, listen } from './listen.ts';
import { ServiceHealthServer } from './service-health.ts';

/** A free loopback port: bind 0, read it, release it. */
async function freePort(): Promise<number> {
  const s = createServer();
  const r = await listen('probe', s, '127.0.0.1', 0);
  await r.close();
  return r.port;
}

const servers: ServiceHealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function make(healthy: { value: boolean }) {
  const logger = recordingLogger();
  const shs = new ServiceHealthServer({ addresses: ['127.0.0.1'], proxyHealthy: () => healthy.value, logger });
  servers.push(shs);
  return { shs, logger };
}

async function get(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

describe('ServiceHealthServer', () => {
  it('answers 200 with local endpoints and a healthy proxy, 503 otherwise', async () => {
    const healthy = { value: true };
    const { shs } = make(healthy);
    const port = await freePort();
    shs.syncServices(new Map([['ns1/lb', port]]));
    await shs.settled();

    let r = await get(port);
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ service: { namespace: 'ns1', name: 'lb' }, localEndpoints: 0, serviceProxyHealthy: true });
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');

    shs.syncEndpoints(new Map([['ns1/lb', 2], ['other/svc', 5]]));
    r = await get(port);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ service: { namespace: 'ns1', name: 'lb' }, localEndpoints: 2, serviceProxyHealthy: true });
    expect(r.headers.get('x-load-balancing-endpoint-weight')).toBe('2');

    healthy.value = false;
    r = await get(port);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ localEndpoints: 2, serviceProxyHealthy: false });

    healthy.value = true;
    shs.syncEndpoints(new Map());
    expect((await get(port)).status).toBe(503);
  });

  it('opens and closes listeners as services come, go and change port', async () => {
    const { shs } = make({ value: true });
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    shs.syncServices(new Map([['a/x', p1], ['a/y', p2]]));
    await shs.settled();
    expect((await get(p1)).status).toBe(503);
    expect((await get(p2)).status).toBe(503);

    shs.syncServices(new Map([['a/y', p3]]));
    await shs.settled();
    expect([...shs.listening()]).toEqual([['a/y', p3]]);
    await expect(fetch(`http://127.0.0.1:${p1}/`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${p2}/`)).rejects.toThrow();
    expect((await get(p3)).body).toMatchObject({ service: { namespace: 'a', name: 'y' } });
  });

  it('logs a port it cannot bind, keeps the others, and retries on the next sync', async () => {
    const { shs, logger } = make({ value: true });
    const holder = createServer();
    const held = await listen('holder', holder, '127.0.0.1', 0);
    const ok = await freePort();
    shs.syncServices(new Map([['a/busy', held.port], ['a/ok', ok]]));
    await shs.settled();
    expect([...shs.listening()]).toEqual([['a/ok', ok]]);
    const errors = logger.entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({ service: 'a/busy', port: held.port });
    shs.syncEndpoints(new Map([['a/ok', 1]]));
    expect((await get(ok)).status).toBe(200);

    await closeServer(holder);
    shs.syncServices(new Map([['a/busy', held.port], ['a/ok', ok]]));
    await shs.settled();
    expect(shs.listening().get('a/busy')).toBe(held.port);
    expect((await get(held.port)).body).toMatchObject({ service: { namespace: 'a', name: 'busy' } });
    // The untouched listener kept its endpoint count.
    expect((await get(ok)).status).toBe(200);
  });
});
