// The kernel relay engine in a process of its own, so a test can starve it of file descriptors
// without touching the test runner: `node kernel-relay-runner.ts BACKEND_PORT` (run under a low
// `ulimit -n`). It relays 127.0.0.1:<port> to 127.0.0.1:BACKEND_PORT, prints `{"port":N}`, then
// answers one JSON line per stdin command: `fill` (open /dev/null until EMFILE: no fd left for
// accept4), `free` (close those again), `stats` (the listener's counters).
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { KernelRelay } from '../../src/backends/userspace/io/kernel-relay.ts';
import { LoadBalancer, makeTarget } from '../../src/backends/userspace/load-balancer.ts';
import { silentLogger } from './userspace-backends.ts';

const NAME = 'ns/svc:p';
const lb = new LoadBalancer({ now: () => Date.now() });
lb.setService(NAME, { type: 'None', timeoutSeconds: 0 }, [makeTarget('127.0.0.1', Number(process.argv[2]))]);
const relay = new KernelRelay({ logger: silentLogger, failureBackoffMs: lb.failureBackoffMs });
const listener = relay.listener(NAME, lb);
const port = await listener.listen('127.0.0.1');
const held: number[] = [];

function fill(): number {
  for (;;) {
    try {
      held.push(openSync('/dev/null', 'r'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EMFILE') throw err;
      return held.length;
    }
  }
}

const run: Record<string, () => unknown> = {
  fill: () => ({ held: fill() }),
  free: () => {
    while (held.length > 0) closeSync(held.pop() ?? -1);
    return { held: 0 };
  },
  stats: () => ({ ...listener.stats, connections: listener.connections }),
};

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => console.log(JSON.stringify(run[line.trim()]?.() ?? { error: `unknown command ${line}` })));
rl.on('close', () => void relay.stop().finally(() => process.exit(0)));
console.log(JSON.stringify({ port }));
