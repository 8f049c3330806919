// The probe client of modes-side-by-side.bench.ts, run inside the client namespace:
// `node connect-client.ts COUNT TIMEOUT_MS LABEL=IP:PORT ...`. Each round makes one new TCP
// connection to every target in turn (interleaved, so the machine's load drifts over all alike),
// times `connect()` → 'connect' (the SYN through the rules and the SYN-ACK back) with
// process.hrtime, then resets the connection (RST: no TIME_WAIT, so the ephemeral ports last and
// every connection is a new conntrack entry). A few unrecorded rounds first warm up the JIT.
// Prints one JSON line: { us: { LABEL: [µs, ...] }, errors: { LABEL: { CODE: n } } }.
import { connect } from 'node:net';

const [countArg = '100', timeoutArg = '2000', ...targetArgs] = process.argv.slice(2);
const COUNT = Number(countArg);
const TIMEOUT_MS = Number(timeoutArg);
const WARMUP = 20;
const targets = targetArgs.map((t) => {
  const m = /^([^=]+)=([\d.]+):(\d+)$/.exec(t);
  if (m === null) throw new Error(`target "${t}": expected LABEL=IP:PORT`);
  return { label: m[1] as string, host: m[2] as string, port: Number(m[3]) };
});

function once(host: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('ETIMEDOUT');
    }, TIMEOUT_MS);
    sock.once('connect', () => {
      const us = Number(process.hrtime.bigint() - t0) / 1e3;
      clearTimeout(timer);
      sock.resetAndDestroy();
      resolve(us);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

const us: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.label, []]));
const errors: Record<string, Record<string, number>> = Object.fromEntries(targets.map((t) => [t.label, {}]));
for (let round = -WARMUP; round < COUNT; round++) {
  for (const t of targets) {
    const r = await once(t.host, t.port);
    if (round < 0) continue;
    if (typeof r === 'number') us[t.label]?.push(r);
    else {
      const e = errors[t.label] as Record<string, number>;
      e[r] = (e[r] ?? 0) + 1;
    }
  }
}
console.log(JSON.stringify({ us, errors }));
