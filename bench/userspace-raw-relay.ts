// The floor for a relay on Node's `net`: the fewest lines that relay a connection (connect on
// accept, data → write with pause/drain, end → end, close → destroy), none of our relay's
// retry, load balancing, limits or timeouts. How far our relay is from HAProxy that this is not,
// is Node's own per-connection cost. `node userspace-raw-relay.ts LISTEN:BACKEND ...`; prints `ready`.
import net from 'node:net';

function relay(a: net.Socket, b: net.Socket): void {
  a.on('data', (d: Buffer) => {
    if (!b.write(d)) a.pause();
  });
  a.on('drain', () => b.resume());
  a.on('end', () => b.end());
  a.on('error', () => b.destroy());
  a.on('close', () => b.destroy());
}

for (const spec of process.argv.slice(2)) {
  const [listen = 0, backend = 0] = spec.split(':').map(Number);
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const up = net.connect({ host: '127.0.0.1', port: backend, allowHalfOpen: true, noDelay: true });
    relay(client, up);
    relay(up, client);
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: listen, backlog: 4096 }, () => r()));
}
console.log('ready');
