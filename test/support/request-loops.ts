// The request loops of the mode-switch tests: each a daemon-load-client process in a namespace
// making one new connection after another to a Service address, counting them on stdout, and
// reporting totals, failures and slow requests (LoadResult) when told to stop.
import { fileURLToPath } from 'node:url';
import { spawnIn, type NsProcess } from './netns.ts';

const LOAD_CLIENT = fileURLToPath(new URL('./daemon-load-client.ts', import.meta.url));

export interface LoadResult {
  total: number;
  pods: Record<string, number>;
  failures: { n: number; error: string }[];
  slow: { n: number; ms: number }[];
}

export interface Load {
  readonly name: string;
  readonly p: NsProcess;
  count(): number;
}

export function startLoad(name: string, ns: string, ip: string, port: number): Load {
  // 10 s per request: a SYN the switch drops is retransmitted after 1 s and 3 s (slow, reported).
  const p = spawnIn(ns, process.execPath, [LOAD_CLIENT, ip, String(port), '10000'], { stdin: true });
  return { name, p, count: () => Number(/count (\d+)\n(?!.*count)/s.exec(p.output())?.[1] ?? 0) };
}

/** Wait for `n` more requests on every loop, so each phase really carries traffic. */
export async function moreRequests(loads: readonly Load[], n: number): Promise<void> {
  for (const l of loads) {
    const target = Math.ceil((l.count() + n) / 10) * 10;
    await l.p.waitForLine((line) => line === `count ${target}`, 120_000);
  }
}
