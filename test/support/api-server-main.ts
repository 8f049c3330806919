// The test API server as a process of its own, for a daemon inside a test namespace to talk to
// (a namespace without a link to the root one cannot reach a server in the test process): started
// with spawnIn in that namespace, it prints `listening PORT`, then applies one JSON command per
// stdin line ({"op":"create"|"update"|"delete","kind":…,"obj":…}) and answers `ok N` or `error N …`.
import { createInterface } from 'node:readline';
import { TestApiServer, type Kind, type KubeObject } from './api-server.ts';

interface Command {
  readonly op: 'create' | 'update' | 'delete';
  readonly kind: Kind;
  readonly obj: KubeObject;
}

const server = new TestApiServer({ bookmarkIntervalMs: 1000 });
await server.start();
process.stdout.write(`listening ${server.port}\n`);
let n = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  n++;
  try {
    const c = JSON.parse(line) as Command;
    server[c.op](c.kind, c.obj);
    process.stdout.write(`ok ${n}\n`);
  } catch (err) {
    process.stdout.write(`error ${n} ${String(err)}\n`);
  }
});
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
