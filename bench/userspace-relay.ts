// Our relay as a bench subject: the daemon's TcpRelay, one per backend port.
// `node userspace-relay.ts LISTEN_PORT:BACKEND_PORT ...`. Prints `ready`.
import { TcpRelay } from '../src/backends/userspace/io/tcp-relay.ts';
import { TimerWheel } from '../src/backends/userspace/io/timer-wheel.ts';
import { LoadBalancer, makeTarget } from '../src/backends/userspace/load-balancer.ts';
import type { Logger } from '../src/model/logger.ts';

const quiet: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (o: unknown) => console.error(o),
  fatal: () => undefined,
  child: () => quiet,
};
const lb = new LoadBalancer({ now: () => Date.now() });
const wheel = new TimerWheel();
for (const spec of process.argv.slice(2)) {
  const [listen = 0, backend = 0] = spec.split(':').map(Number);
  const name = `bench/p${listen}`;
  lb.setService(name, { type: 'None', timeoutSeconds: 0 }, [makeTarget('127.0.0.1', backend)]);
  await new TcpRelay({ name, lb, wheel, logger: quiet, maxConnections: 100_000 }).listen('127.0.0.1', listen);
}
console.log('ready');
