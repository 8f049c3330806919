// The client half of system tests, run inside a namespace: `node net-client.ts tcp|udp IP PORT
// COUNT TIMEOUT_MS` (IP of either family). Makes COUNT sequential requests and prints one JSON
// array: for each, the echo server's reply (`{ ok, pod, source }`) or the error code
// (`ECONNREFUSED`, `ETIMEDOUT`, …).
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';

export type Reply = { ok: true; pod: string; source: string } | { ok: false; error: string };

function parse(text: string): Reply {
  const [pod = '', source = ''] = text.trim().split(' ');
  return pod === '' ? { ok: false, error: 'EMPTY' } : { ok: true, pod, source };
}

function tcpOnce(host: string, port: number, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve) => {
    let data = '';
    const sock = connect({ host, port });
    sock.setTimeout(timeoutMs, () => {
      sock.destroy();
      resolve({ ok: false, error: 'ETIMEDOUT' });
    });
    sock.on('data', (b: Buffer) => (data += b.toString('utf8')));
    sock.on('end', () => resolve(parse(data)));
    sock.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

function udpOnce(host: string, port: number, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve) => {
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve({ ok: false, error: 'ETIMEDOUT' });
    }, timeoutMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(parse(msg.toString('utf8')));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.close();
      resolve({ ok: false, error: err.code ?? err.message });
    });
    // connect() so an ICMP port-unreachable surfaces as ECONNREFUSED instead of a silent timeout.
    sock.connect(port, host, () => sock.send('ping'));
  });
}

async function run(): Promise<void> {
  const [proto = 'tcp', host = '', port = '0', count = '1', timeout = '3000'] = process.argv.slice(2);
  const once = proto === 'udp' ? udpOnce : tcpOnce;
  const out: Reply[] = [];
  for (let i = 0; i < Number(count); i++) out.push(await once(host, Number(port), Number(timeout)));
  console.log(JSON.stringify(out));
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await run();
