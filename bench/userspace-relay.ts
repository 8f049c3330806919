// Our relay as a bench subject, one listener per backend port:
// `node userspace-relay.ts [--engine=kernel|node] LISTEN_PORT:BACKEND_PORT ...`. Prints `ready`.
// kernel (default, the daemon's TCP path): the epoll engine in a worker thread (io/kernel-relay.ts);
// node: the Node `net` relay (io/tcp-relay.ts), kept as the fallback when koffi cannot load.
import { KernelRelay } from '../src/backends/userspace/io/kernel-relay.ts';
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
const args = process.argv.slice(2);
const engine = args.find((a) => a.startsWith('--engine='))?.slice('--engine='.length) ?? 'kernel';
const lb = new LoadBalancer({ now: () => Date.now() });
const wheel = new TimerWheel();
// BENCH_RELAY_BUFFER: the kernel engine's bytes per recv (default 64 KiB), to compare sizes.
const bufferSize = Number(process.env.BENCH_RELAY_BUFFER ?? 64 * 1024);
// BENCH_RELAY_SPLICE=1: the kernel engine moves bytes with splice(2) instead of recv/send.
const splice = process.env.BENCH_RELAY_SPLICE === '1';
const kernel =
  engine === 'kernel'
    ? new KernelRelay({ logger: quiet, failureBackoffMs: lb.failureBackoffMs, bufferSize, splice })
    : undefined;
for (const spec of args.filter((a) => !a.startsWith('--'))) {
  const [listen = 0, backend = 0] = spec.split(':').map(Number);
  const name = `bench/p${listen}`;
  lb.setService(name, { type: 'None', timeoutSeconds: 0 }, [makeTarget('127.0.0.1', backend)]);
  const relay = kernel
    ? kernel.listener(name, lb, { maxConnections: 100_000 })
    : new TcpRelay({ name, lb, wheel, logger: quiet, maxConnections: 100_000 });
  await relay.listen('127.0.0.1', listen);
}
// The worker is unref'd (the daemon's servers keep it alive): here, an interval does.
if (kernel) setInterval(() => undefined, 60_000);
console.log('ready');
