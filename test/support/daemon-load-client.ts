// A steady request loop for the daemon restart test, run inside a pod namespace:
// `node daemon-load-client.ts IP PORT TIMEOUT_MS`. Makes sequential TCP requests (each one a new
// connection, so each one goes through the NAT rules) until a line arrives on stdin, printing
// `count N` every 10 requests; then prints one JSON line:
// `{"total":N,"pods":{"web-a1":3,...},"failures":[{"n":17,"error":"ECONNREFUSED"}],"slow":[{"n":9,"ms":1012}]}`.
// A request answered after more than a second (a retransmitted SYN) is listed as slow, not failed.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [host = '', port = '80', timeout = '2000'] = process.argv.slice(2);

function once(): Promise<{ pod: string } | { error: string }> {
  return new Promise((resolve) => {
    let data = '';
    const sock = connect({ host, port: Number(port) });
    sock.setTimeout(Number(timeout), () => {
      sock.destroy();
      resolve({ error: 'ETIMEDOUT' });
    });
    sock.on('data', (b: Buffer) => (data += b.toString('utf8')));
    sock.on('end', () => {
      const pod = data.trim().split(' ')[0] ?? '';
      resolve(pod === '' ? { error: 'EMPTY' } : { pod });
    });
    sock.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

let stop = false;
createInterface({ input: process.stdin }).once('line', () => (stop = true));

const pods: Record<string, number> = {};
const failures: { n: number; error: string }[] = [];
const slow: { n: number; ms: number }[] = [];
let total = 0;
while (!stop) {
  const started = performance.now();
  const r = await once();
  total++;
  const ms = Math.round(performance.now() - started);
  if (ms > 1000) slow.push({ n: total, ms });
  if ('pod' in r) pods[r.pod] = (pods[r.pod] ?? 0) + 1;
  else failures.push({ n: total, error: r.error });
  if (total % 10 === 0) console.log(`count ${total}`);
}
console.log(JSON.stringify({ total, pods, failures, slow }));
process.exit(0);
