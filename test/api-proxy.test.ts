// A kubeconfig `proxy-url` really carries the daemon's lists and watches: the test API server
// behind a CONNECT proxy of our own, the real ApiSource, and the proxy's log of the tunnels it opened. The
// differential test (kube-config-differential.test.ts) checks the proxy choice against client-node;
// this one that requests go through it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { TestApiServer } from './support/api-server.ts';
import { RecordingSink, eventually, recordingLogger } from './support/api-server-sink.ts';

let api: TestApiServer | undefined;
let proxy: Server | undefined;
let source: ApiSource | undefined;
afterEach(async () => {
  await source?.stop();
  await api?.stop();
  proxy?.closeAllConnections();
  await new Promise((r) => proxy ? proxy.close(r) : r(undefined));
});

/**
 * A CONNECT proxy (what hpagent speaks, for http:// and https:// servers alike) that knows the API
 * server by a name nothing else resolves: a request that bypassed the proxy could not connect.
 */
function connectProxy(tunnels: string[], apiPort: number): Promise<string> {
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    if (req.url !== `${API_HOST}:${apiPort}`) return client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    const upstream = connect(apiPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return new Promise((resolve) => proxy?.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(proxy?.address() as AddressInfo).port}`)));
}

const API_HOST = 'api-server.invalid';

describe('proxy-url', () => {
  it('lists and watches through the proxy the kubeconfig names', async () => {
    api = new TestApiServer({ token: 'via-proxy' });
    await api.start();
    api.create('Service', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] } });
    const tunnels: string[] = [];
    const apiPort = Number(new URL(api.url).port);
    const proxyUrl = await connectProxy(tunnels, apiPort);
    const path = join(mkdtempSync(join(tmpdir(), 'kpt-proxy-')), 'kubeconfig');
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', `clusters: [{ name: c, cluster: { server: "http://${API_HOST}:${apiPort}", proxy-url: "${proxyUrl}" } }]`,
      'users: [{ name: u, user: { token: via-proxy } }]', 'contexts: [{ name: x, context: { cluster: c, user: u } }]', 'current-context: x', '',
    ].join('\n'));
    const sink = new RecordingSink();
    const log = recordingLogger();
    source = new ApiSource({ client: createKubeClient(loadKubeConfig({ kubeconfig: path })), nodeName: 'node-a', log, watchNode: false, watchServiceCIDRs: false });
    await source.start(sink);
    await eventually(() => expect(sink.synced_.has('Service')).toBe(true), 10_000);
    api.create('Service', { metadata: { name: 'late', namespace: 'default' }, spec: { clusterIP: '10.96.0.11', ports: [{ port: 80, protocol: 'TCP' }] } });
    await eventually(() => expect([...sink.state.Service.keys()].sort()).toEqual(['default/late', 'default/web']), 10_000);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(new Set(tunnels)).toEqual(new Set([`${API_HOST}:${apiPort}`]));
    expect(api.requests.some((r) => r.path === '/api/v1/services' && r.query.watch === 'true')).toBe(true);
    expect(api.counters.unauthorized).toBe(0);
  });
});
