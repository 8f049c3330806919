// The probe client of modes-side-by-side.bench.ts, a long-lived process in one namespace: each
// stdin line `{"id":K,"count":N,"targets":[{"label":L,"ip":IP,"port":P}, ...]}` runs N rounds of
// one new TCP connection to every target in turn (interleaved, so the machine's load drifts over
// all alike), timing `connect()` → 'connect' (the SYN through the rules and the SYN-ACK back) with
// process.hrtime, then resetting the connection (RST: no TIME_WAIT, so the ephemeral ports last and
// every connection is a new conntrack entry). Unrecorded rounds before the first command's warm up
// the JIT. Answers one line per command: {"id":K,"us":{L:[µs, ...]},"errors":{L:{CODE:n}}}.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

import type { ProbeResult } from './connect-latency.ts';

const TIMEOUT_MS = 2000;
let warmup = 20;

interface Target {
  readonly label: string;
  readonly ip: string;
  readonly port: number;
}

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

async function run(count: number, targets: readonly Target[]): Promise<Pick<ProbeResult, 'us' | 'errors'>> {
  const us: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.label, []]));
  const errors: Record<string, Record<string, number>> = Object.fromEntries(targets.map((t) => [t.label, {}]));
  for (let round = -warmup; round < count; round++) {
    for (const t of targets) {
      const r = await once(t.ip, t.port);
      if (round < 0) continue;
      if (typeof r === 'number') us[t.label]?.push(r);
      else {
        const e = errors[t.label] as Record<string, number>;
        e[r] = (e[r] ?? 0) + 1;
      }
    }
  }
  warmup = 0;
  return { us, errors };
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const cmd = JSON.parse(line) as { id: number; count: number; targets: Target[] };
  console.log(JSON.stringify({ id: cmd.id, ...(await run(cmd.count, cmd.targets)) }));
}
