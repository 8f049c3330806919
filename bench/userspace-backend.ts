// Bench backend (runs inside the bench namespace): `node userspace-backend.ts BULK RR ECHO` ports.
// BULK: streams 64 KiB chunks until the client goes away. RR: answers the first chunk with a tiny
// HTTP response and closes. ECHO: echoes. Prints `ready`.
import net from 'node:net';

const [bulk = 9001, rr = 9002, echo = 9003] = process.argv.slice(2).map(Number);
const chunk = Buffer.alloc(64 * 1024, 0x62);
// A minimal HTTP answer so wrk (Connection: close) can drive connect-request-response.
const answer = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');

function serve(port: number, onConn: (s: net.Socket) => void): Promise<void> {
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => s.destroy());
    onConn(s);
  });
  return new Promise((resolve) => server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => resolve()));
}

await serve(bulk, (s) => {
  const pump = (): void => {
    while (!s.destroyed) if (!s.write(chunk)) return void s.once('drain', pump);
  };
  pump();
});
await serve(rr, (s) => s.once('data', () => s.end(answer)));
await serve(echo, (s) => s.on('data', (b: Buffer) => s.write(b)));
console.log('ready');
