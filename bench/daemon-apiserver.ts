// Child process of daemon-memory.bench.ts, run inside the daemon's network namespace: the test API
// server (test/support/api-server.ts) holding N Services × one EndpointSlice of E endpoints, plus
// a probe of the daemon's metrics server (bound on the namespace's loopback), so the bench reads
// both without starting a process per poll. Prints `ready URL`. Commands on stdin, one per line:
//   burst COUNT   update COUNT slices back to back (one endpoint's Ready flips) → `burst-done MS`
//   metrics       GET the daemon's /metrics → `metrics {"body": …}` or `metrics {"error": …}`
//   requests      → `requests [{path, query, at}, …]` (the list/watch requests received so far)
// Run: node bench/daemon-apiserver.ts N E
import { createInterface } from 'node:readline';
import { TestApiServer, type KubeObject } from '../test/support/api-server.ts';
import { BENCH_NODE, makeService, makeSlice } from './cluster-fixtures.ts';

const n = Number(process.argv[2] ?? 10_000);
const e = Number(process.argv[3] ?? 10);
const server = new TestApiServer({ bookmarkIntervalMs: 10_000, maxHistory: 20_000 });
await server.start();
// A real Node has addresses; without them the daemon waits 30 s for its node IP before starting.
server.create('Node', {
  metadata: { name: BENCH_NODE, labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
  status: { addresses: [{ type: 'InternalIP', address: '192.0.2.10' }] },
});
server.create('ServiceCIDR', { metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16'] } });
/** Wire JSON, as a client would send it (the fixtures are client-node's typed shapes). */
const wire = (o: object): KubeObject => JSON.parse(JSON.stringify(o)) as KubeObject;
const version: number[] = [];
for (let i = 0; i < n; i++) {
  server.create('Service', wire(makeService(i)));
  server.create('EndpointSlice', wire(makeSlice(i, e)));
  version.push(1);
}
console.log(`ready ${server.url}`);

let next = 0;
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(' ');
  if (cmd === 'burst') {
    const count = Number(arg);
    const t0 = performance.now();
    for (let k = 0; k < count; k++) {
      const i = next++ % n;
      version[i] = (version[i] ?? 1) + 1;
      server.update('EndpointSlice', wire(makeSlice(i, e, version[i])));
    }
    console.log(`burst-done ${(performance.now() - t0).toFixed(1)}`);
  } else if (cmd === 'metrics') {
    try {
      const res = await fetch('http://127.0.0.1:10249/metrics', { signal: AbortSignal.timeout(2000) });
      console.log(`metrics ${JSON.stringify({ body: await res.text() })}`);
    } catch (err) {
      console.log(`metrics ${JSON.stringify({ error: String(err) })}`);
    }
  } else if (cmd === 'requests') {
    console.log(`requests ${JSON.stringify(server.requests.map((r) => ({ path: r.path, query: r.query, at: r.at })))}`);
  }
}
await server.stop();
