// A steady request loop for the daemon restart test, run inside a pod namespace:
// `node daemon-load-client.ts IP PORT TIMEOUT_MS`. Makes sequential TCP requests (each one a new
// connection, so each one goes through the NAT rules) until a line arrives on stdin, printing
// `count N` every 10 requests; then prints one JSON line:
// `{"total":N,"pods":{"web-a1":3,...},"failures":[{"n":17,"error":"ECONNREFUSED",...}],"slow":[{"n":9,"ms":1012,...}]}`.
// A request answered after more than a second (a retransmitted SYN) is listed as slow, not failed.
//
// To place a failure, each failed or slow request also carries its local (source) port, when it
// started (`at`, epoch ms), whether the handshake completed, and how long ago this loop last used
// the same source port (`prevMs`, -1 if never); a request still unanswered after 1.5 s prints
// `stalled N port P` at once (with ` connected` once the handshake completed) and a failed one `failed N port P` (a driver can look at the kernel's
// connection tables while the entries are there). A stdin line `ports LO HI` (instead of stopping)
// makes the following requests bind their source port from LO..HI in turn, continuing where an
// earlier use of the same range left off: a driver can keep the ports of one phase apart from
// another's. Any other stdin line stops the loop.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [host = '', port = '80', timeout = '2000'] = process.argv.slice(2);
const STALL_MS = 1500;

interface Outcome { pod?: string; error?: string; port: number; connected: boolean }

function once(n: number, localPort: number | undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    let data = '';
    let connected = false;
    const sock = connect({ host, port: Number(port), ...(localPort === undefined ? {} : { localPort }) });
    const local = (): number => sock.localPort ?? localPort ?? 0;
    const stall = setTimeout(() => console.log(`stalled ${n} port ${local()}${connected ? ' connected' : ''}`), STALL_MS);
    const done = (o: Omit<Outcome, 'port' | 'connected'>): void => {
      clearTimeout(stall);
      resolve({ ...o, port: local(), connected });
    };
    sock.setTimeout(Number(timeout), () => {
      done({ error: 'ETIMEDOUT' });
      sock.destroy();
    });
    sock.on('connect', () => (connected = true));
    sock.on('data', (b: Buffer) => (data += b.toString('utf8')));
    sock.on('end', () => {
      const pod = data.trim().split(' ')[0] ?? '';
      done(pod === '' ? { error: 'EMPTY' } : { pod });
    });
    sock.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message }));
  });
}

/** The source-port range set by `ports LO HI`, with where each range's cursor stands. */
let range: { lo: number; hi: number } | undefined;
const cursors = new Map<string, number>();
function nextPort(): number | undefined {
  if (range === undefined) return undefined;
  const key = `${range.lo}-${range.hi}`;
  const p = cursors.get(key) ?? range.lo;
  cursors.set(key, p >= range.hi ? range.lo : p + 1);
  return p;
}

let stop = false;
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^ports (\d+) (\d+)$/.exec(line.trim());
  if (m === null) stop = true;
  else range = { lo: Number(m[1]), hi: Number(m[2]) };
});

const pods: Record<string, number> = {};
const failures: { n: number; error: string; port: number; at: number; connected: boolean; prevMs: number }[] = [];
const slow: { n: number; ms: number; port: number; at: number; prevMs: number }[] = [];
const lastUse = new Float64Array(65536);
let total = 0;
while (!stop) {
  const at = Date.now();
  const started = performance.now();
  const r = await once(total + 1, nextPort());
  total++;
  const ms = Math.round(performance.now() - started);
  const prevMs = lastUse[r.port] === 0 ? -1 : at - (lastUse[r.port] ?? 0);
  if (r.port > 0) lastUse[r.port] = at;
  if (ms > 1000) slow.push({ n: total, ms, port: r.port, at, prevMs });
  if (r.pod !== undefined) pods[r.pod] = (pods[r.pod] ?? 0) + 1;
  else {
    failures.push({ n: total, error: r.error ?? '?', port: r.port, at, connected: r.connected, prevMs });
    console.log(`failed ${total} port ${r.port}`);
  }
  if (total % 10 === 0) console.log(`count ${total}`);
}
console.log(JSON.stringify({ total, pods, failures, slow }));
process.exit(0);
