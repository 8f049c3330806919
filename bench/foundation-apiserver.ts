// Child process of foundation.bench.ts: the test API server (test/support/api-server.ts) holding
// N Services × one EndpointSlice of E endpoints, in its own process so its memory and CPU are not
// the daemon's. Prints `ready URL`; on stdin `burst COUNT` it updates COUNT slices back to back
// (one endpoint's Ready flips in each) and prints `burst-done MS`.
// Run: node bench/foundation-apiserver.ts N E
import { createInterface } from 'node:readline';
import { TestApiServer, type KubeObject } from '../test/support/api-server.ts';
import { BENCH_NODE, makeService, makeSlice } from './cluster-fixtures.ts';

const n = Number(process.argv[2] ?? 10_000);
const e = Number(process.argv[3] ?? 10);
const server = new TestApiServer({ bookmarkIntervalMs: 10_000, maxHistory: 20_000 });
await server.start();
server.create('Node', { metadata: { name: BENCH_NODE, labels: { 'topology.kubernetes.io/zone': 'zone-a' } } });
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
  if (cmd !== 'burst') continue;
  const count = Number(arg);
  const t0 = performance.now();
  for (let k = 0; k < count; k++) {
    const i = next++ % n;
    version[i] = (version[i] ?? 1) + 1;
    server.update('EndpointSlice', wire(makeSlice(i, e, version[i])));
  }
  console.log(`burst-done ${(performance.now() - t0).toFixed(1)}`);
}
await server.stop();
