// The userspace relay with real sockets on 127.0.0.1 (no namespaces, nothing changed on the host).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LoadBalancer, makeTarget } from '../src/backends/userspace/load-balancer.ts';
import { KernelRelay, KernelTcpListener } from '../src/backends/userspace/io/kernel-relay.ts';
import { Listeners } from '../src/backends/userspace/io/listeners.ts';
import { TcpRelay } from '../src/backends/userspace/io/tcp-relay.ts';
import { TimerWheel } from '../src/backends/userspace/io/timer-wheel.ts';
import { UdpRelay } from '../src/backends/userspace/io/udp-relay.ts';
import type { SessionAffinity } from '../src/model/types.ts';
import {
  exchange,
  flood,
  refusingPort,
  silentLogger,
  speakFirst,
  tcpBackend,
  udpBackend,
  until,
  type Backend,
} from './support/userspace-backends.ts';

const NAME = 'ns/svc:p';
const none: SessionAffinity = { type: 'None', timeoutSeconds: 0 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface SetupOptions {
  affinity?: SessionAffinity;
  max?: number;
  drainMs?: number;
  highWaterMark?: number;
}

/** What the tests need of a TCP relay, whichever engine runs it. */
interface Relay {
  listen(ip: string): Promise<number>;
  close(): Promise<void>;
  drainRemoved(): void;
  readonly connections: number;
  readonly stats: { readonly accepted: number; readonly dialFailures: number; readonly rejected: number };
}

// One kernel engine (one worker thread) per variant for the file, as the daemon has one for all
// service ports.
let kernel: KernelRelay | undefined;
let kernelSplice: KernelRelay | undefined;
afterAll(async () => {
  await kernel?.stop();
  await kernelSplice?.stop();
});

const ENGINES: { engine: string; make: (lb: LoadBalancer, o: SetupOptions) => Relay }[] = [
  {
    engine: 'kernel (epoll worker)',
    make: (lb, o) => {
      kernel ??= new KernelRelay({ logger: silentLogger, failureBackoffMs: lb.failureBackoffMs });
      return kernel.listener(NAME, lb, {
        ...(o.max === undefined ? {} : { maxConnections: o.max }),
        ...(o.drainMs === undefined ? {} : { drainTimeoutMs: o.drainMs }),
      });
    },
  },
  {
    engine: 'kernel with splice(2)',
    make: (lb, o) => {
      kernelSplice ??= new KernelRelay({
        logger: silentLogger,
        failureBackoffMs: lb.failureBackoffMs,
        splice: true,
      });
      return kernelSplice.listener(NAME, lb, {
        ...(o.max === undefined ? {} : { maxConnections: o.max }),
        ...(o.drainMs === undefined ? {} : { drainTimeoutMs: o.drainMs }),
      });
    },
  },
  {
    engine: 'node net',
    make: (lb, o) =>
      new TcpRelay({
        name: NAME,
        lb,
        wheel: new TimerWheel(10),
        logger: silentLogger,
        ...(o.max === undefined ? {} : { maxConnections: o.max }),
        ...(o.drainMs === undefined ? {} : { drainTimeoutMs: o.drainMs }),
        ...(o.highWaterMark === undefined ? {} : { highWaterMark: o.highWaterMark }),
      }),
  },
];

async function backends(...names: string[]): Promise<Backend[]> {
  const list = await Promise.all(names.map((n) => tcpBackend(n)));
  for (const b of list) cleanups.push(() => b.close());
  return list;
}

const firstLine = (t: string): string => t.split('\n')[0] ?? '';

describe.each(ENGINES)('userspace TCP relay on loopback: $engine', ({ make }) => {
  async function tcpSetup(ports: number[], opts: SetupOptions = {}) {
    const lb = new LoadBalancer({ now: () => Date.now() });
    lb.setService(
      NAME,
      opts.affinity ?? none,
      ports.map((p) => makeTarget('127.0.0.1', p)),
    );
    const relay = make(lb, opts);
    const port = await relay.listen('127.0.0.1');
    cleanups.push(() => relay.close());
    return { lb, relay, port };
  }

  it('spreads connections round robin', async () => {
    const bs = await backends('a', 'b', 'c');
    const { port } = await tcpSetup(bs.map((b) => b.port));
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) seen.push(firstLine((await exchange(port, 'x')).text));
    expect(seen.filter((s) => s === 'a')).toHaveLength(10);
    expect(seen.filter((s) => s === 'b')).toHaveLength(10);
    expect(seen.filter((s) => s === 'c')).toHaveLength(10);
  });

  it('retries past refusing endpoints: no request fails', async () => {
    const bs = await backends('live');
    const dead = [await refusingPort(), await refusingPort()];
    const { relay, port } = await tcpSetup([dead[0] ?? 0, bs[0]?.port ?? 0, dead[1] ?? 0]);
    const results = await Promise.all(Array.from({ length: 40 }, () => exchange(port, 'hello')));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.every((r) => r.text === 'live\nhellobye 5\n')).toBe(true);
    expect(relay.stats.dialFailures).toBeGreaterThan(0);
  });

  it('resets the client when every endpoint refuses, after bounded tries', async () => {
    const { relay, port } = await tcpSetup([await refusingPort(), await refusingPort()]);
    const r = await exchange(port, 'x');
    expect(r.ok).toBe(false);
    expect(relay.stats.dialFailures).toBe(4);
    await until(() => relay.connections === 0);
  });

  it('resets the client when the service port has no endpoints', async () => {
    const { port } = await tcpSetup([]);
    const r = await exchange(port, 'x');
    expect(r).toMatchObject({ ok: false });
  });

  it('ClientIP affinity keeps a client on one endpoint', async () => {
    const bs = await backends('a', 'b', 'c');
    const { port } = await tcpSetup(
      bs.map((b) => b.port),
      { affinity: { type: 'ClientIP', timeoutSeconds: 60 } },
    );
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(firstLine((await exchange(port, 'x')).text));
    expect(seen.size).toBe(1);
  });

  it('carries a half-close: the reply written after the client FIN arrives', async () => {
    const bs = await backends('a');
    const { port } = await tcpSetup([bs[0]?.port ?? 0]);
    const payload = 'z'.repeat(100_000);
    const r = await exchange(port, payload);
    expect(r.ok).toBe(true);
    expect(r.text).toBe(`a\n${payload}bye 100000\n`);
  });

  it('backend closes first: the client still sends after the FIN, both ends see orderly FINs', async () => {
    const backend = await speakFirst('hello', 300);
    cleanups.push(() => backend.close());
    // A write buffer larger than the payload: the client's FIN reaches the relay while its bytes
    // still wait in user space for the (not yet reading) backend, and must not be dropped.
    const { relay, port } = await tcpSetup([backend.port], { highWaterMark: 32 * 1024 * 1024 });
    const after = 'y'.repeat(16 * 1024 * 1024);
    const runs = Array.from(
      { length: 5 },
      () =>
        new Promise<{ text: string; how: string }>((resolve) => {
          const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
          let text = '';
          c.setEncoding('utf8').on('data', (d: string) => (text += d));
          // The greeting and the backend's FIN arrive first; only then does the client speak and close.
          c.on('end', () => c.end(after));
          c.on('error', (e: NodeJS.ErrnoException) => resolve({ text, how: e.code ?? e.message }));
          c.on('close', () => resolve({ text, how: 'closed' }));
        }),
    );
    const results = await Promise.all(runs);
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ text: 'hello', how: 'closed' })));
    await until(() => backend.endings.length === 5);
    expect(backend.endings).toEqual(
      Array.from({ length: 5 }, () => ({ received: after.length, how: 'fin' })),
    );
    await until(() => relay.connections === 0);
  });

  it('applies back-pressure to a fast sender when the client does not read', async () => {
    const total = 512 * 1024 * 1024;
    const src = await flood(total);
    cleanups.push(() => src.close());
    const { port } = await tcpSetup([src.port]);
    const before = process.memoryUsage().arrayBuffers;
    const c = net.connect({ host: '127.0.0.1', port });
    c.pause();
    cleanups.push(async () => void c.destroy());
    // Let the source fill every buffer on the way; then it must be stalled far short of the total.
    let last = -1;
    while (src.sent() !== last) {
      last = src.sent();
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(src.sent()).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('returns to its baseline of file descriptors after many connections', async () => {
    const bs = await backends('a', 'b');
    const { relay, port } = await tcpSetup(bs.map((b) => b.port));
    const fds = (): number => readdirSync('/proc/self/fd').length;
    await exchange(port, 'warm');
    await until(() => relay.connections === 0);
    const base = fds();
    for (let round = 0; round < 10; round++) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => exchange(port, 'x')));
      expect(rs.every((r) => r.ok)).toBe(true);
    }
    await until(() => relay.connections === 0);
    await until(() => fds() <= base + 2);
    expect(relay.stats.accepted).toBe(501);
  });

  it('caps connections per service port', async () => {
    const bs = await backends('a');
    const { relay, port } = await tcpSetup([bs[0]?.port ?? 0], { max: 2 });
    const held = [net.connect({ host: '127.0.0.1', port }), net.connect({ host: '127.0.0.1', port })];
    cleanups.push(async () => held.forEach((s) => s.destroy()));
    await until(() => relay.connections === 2);
    const r = await exchange(port, 'x');
    expect(r.ok).toBe(false);
    expect(relay.stats.rejected).toBe(1);
  });

  it('drains a removed endpoint: new connections avoid it, established ones end after the timeout', async () => {
    const [a, b] = await backends('a', 'b');
    const { lb, relay, port } = await tcpSetup([a?.port ?? 0, b?.port ?? 0], { drainMs: 300 });
    const held = net.connect({ host: '127.0.0.1', port });
    let got = '';
    held.setEncoding('utf8').on('data', (d: string) => (got += d));
    await until(() => got.startsWith('a\n'));
    lb.setService(NAME, none, [makeTarget('127.0.0.1', b?.port ?? 0)]);
    relay.drainRemoved();
    held.write('still here');
    await until(() => got.includes('still here'));
    for (let i = 0; i < 4; i++) expect(firstLine((await exchange(port, 'x')).text)).toBe('b');
    await new Promise<void>((resolve) => held.on('close', () => resolve()));
    expect(held.destroyed).toBe(true);
  });
});

describe('userspace UDP relay on loopback', () => {
  async function udpSetup(names: string[], idleMs = 200) {
    const bs = await Promise.all(names.map((n) => udpBackend(n)));
    for (const b of bs) cleanups.push(() => b.close());
    const lb = new LoadBalancer({ now: () => Date.now() });
    lb.setService(
      NAME,
      none,
      bs.map((b) => makeTarget('127.0.0.1', b.port)),
    );
    const relay = new UdpRelay({
      name: NAME,
      family: 'IPv4',
      lb,
      wheel: new TimerWheel(10),
      logger: silentLogger,
      idleTimeoutMs: idleMs,
    });
    const port = await relay.listen('127.0.0.1');
    cleanups.push(() => relay.close());
    return { relay, port };
  }

  function ask(sock: dgram.Socket, port: number, msg: string): Promise<{ text: string; from: string }> {
    return new Promise((resolve) => {
      sock.once('message', (m, rinfo) =>
        resolve({ text: m.toString(), from: `${rinfo.address}:${rinfo.port}` }),
      );
      sock.send(msg, port, '127.0.0.1');
    });
  }

  async function client(): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => s.close(() => r())));
    return s;
  }

  it('keeps a session per client, replies from the listening address, spreads clients', async () => {
    const { relay, port } = await udpSetup(['a', 'b']);
    const c1 = await client();
    const c2 = await client();
    const r1 = [await ask(c1, port, '1'), await ask(c1, port, '2')];
    const r2 = await ask(c2, port, '3');
    expect(r1.map((r) => r.text)).toEqual(['a:1', 'a:2']);
    expect(r2.text).toBe('b:3');
    for (const r of [...r1, r2]) expect(r.from).toBe(`127.0.0.1:${port}`);
    expect(relay.sessions).toBe(2);
  });

  it('ends idle sessions', async () => {
    const { relay, port } = await udpSetup(['a'], 100);
    const c = await client();
    await ask(c, port, 'x');
    expect(relay.sessions).toBe(1);
    await until(() => relay.sessions === 0);
    expect((await ask(c, port, 'y')).text).toBe('a:y');
  });
});

describe('Listeners picks the TCP engine', () => {
  it.each([
    { tcpEngine: undefined, want: KernelTcpListener },
    { tcpEngine: 'kernel' as const, want: KernelTcpListener },
    { tcpEngine: 'node' as const, want: TcpRelay },
  ])('tcpEngine $tcpEngine relays TCP with $want.name', async ({ tcpEngine, want }) => {
    const [a] = await Promise.all([tcpBackend('a')]);
    cleanups.push(() => a?.close() ?? Promise.resolve());
    const lb = new LoadBalancer({ now: () => Date.now() });
    const wheel = new TimerWheel(10);
    const listeners = new Listeners({
      family: 'IPv4',
      listenIP: '127.0.0.1',
      lb,
      wheel,
      logger: silentLogger,
      ...(tcpEngine ? { tcpEngine } : {}),
    });
    cleanups.push(() => listeners.closeAll());
    const l = await listeners.open(NAME, 'TCP');
    lb.setService(NAME, none, [makeTarget('127.0.0.1', a?.port ?? 0)]);
    listeners.drainRemoved();
    expect(l.relay).toBeInstanceOf(want);
    expect(await exchange(l.port, 'q')).toEqual({ ok: true, text: 'a\nqbye 1\n' });
    await listeners.closeAll();
    expect((await exchange(l.port, 'q')).ok).toBe(false);
  });
});

describe('kernel relay engine recovers from a dead worker', () => {
  interface Entry {
    readonly fields: Record<string, unknown>;
    readonly msg: string;
  }
  /** A logger that keeps its error entries: the supervisor's one error per death is asserted. */
  function recordingLogger(errors: Entry[]): typeof silentLogger {
    const l: typeof silentLogger = {
      ...silentLogger,
      error: ((fields: Record<string, unknown>, msg: string) => void errors.push({ fields, msg })) as typeof silentLogger.error,
      child: () => l,
    };
    return l;
  }

  async function served(port: number): Promise<string> {
    const r = await exchange(port, 'x');
    return r.ok ? firstLine(r.text) : 'failed';
  }

  /** A relay with test hooks serving NAME over `names`' backends; `baseMs` is the first restart delay. */
  async function setup(errors: Entry[], { names = ['a', 'b'], affinity = { type: 'ClientIP', timeoutSeconds: 60 } as SessionAffinity, baseMs = 20 } = {}) {
    const bs = await backends(...names);
    const lb = new LoadBalancer({ now: () => Date.now() });
    lb.setService(NAME, affinity, bs.map((b) => makeTarget('127.0.0.1', b.port)));
    const relay = new KernelRelay({
      logger: recordingLogger(errors),
      failureBackoffMs: lb.failureBackoffMs,
      restartBackoff: { baseMs },
      testHooks: {},
    });
    cleanups.push(() => relay.stop());
    const listener = relay.listener(NAME, lb);
    const port = await listener.listen('127.0.0.1');
    return { lb, relay, listener, port };
  }

  /** Another program takes `port` on loopback (closed after the test). */
  async function squat(port: number): Promise<void> {
    const squatter = net.createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(port, '127.0.0.1', () => resolve());
    });
    cleanups.push(() => new Promise((r) => squatter.close(() => r())));
  }

  it('a throw in the loop: logged once with its cause, counted, restarted on the same port with its endpoints and affinity', async () => {
    const errors: Entry[] = [];
    const { relay, listener, port } = await setup(errors);
    const first = await served(port);
    expect(['a', 'b']).toContain(first);
    relay.send({ op: 'crash' });
    await until(() => relay.stats.recovered === 1);
    expect(relay.stats.restarts).toBe(1);
    expect(relay.running).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toBe('userspace: TCP relay worker died, restarting it');
    expect(String(errors[0]?.fields.err)).toMatch(/crash requested/);
    expect(listener.port).toBe(port);
    // ClientIP affinity came back with the endpoints: the same client lands where it did before.
    for (let i = 0; i < 5; i++) expect(await served(port)).toBe(first);
    expect(listener.connections).toBe(0);
  });

  it('a terminated worker (no cleanup of its own): its leftover listener is closed and the same port served again', async () => {
    const errors: Entry[] = [];
    const { relay, listener, port } = await setup(errors);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    expect(await served(port)).not.toBe('failed');
    await until(() => listener.connections === 0);
    const before = fds();
    await relay.terminateWorker();
    await until(() => relay.stats.recovered === 1);
    expect(errors.map((e) => [e.msg, e.fields.reclaimedListeners])).toEqual([
      ['userspace: TCP relay worker died, restarting it', 1],
    ]);
    expect(listener.port).toBe(port);
    expect(await served(port)).not.toBe('failed');
    await until(() => listener.connections === 0);
    // The new worker's epoll fd and eventfd replace the old ones: nothing leaked.
    await until(() => fds() <= before);
  });

  it('a port taken while the worker was down: the listener moves to a new port and reports it', async () => {
    const errors: Entry[] = [];
    // A long first delay: the test takes the port between the death and the restart.
    const { relay, listener, port } = await setup(errors, { names: ['a'], affinity: none, baseMs: 1_000 });
    const moved: (number | undefined)[] = [];
    listener.onRebound = (p) => moved.push(p);
    relay.send({ op: 'crash' });
    await until(() => relay.stats.restarts === 1);
    await squat(port);
    await until(() => relay.stats.recovered === 1);
    expect(listener.port).not.toBe(port);
    expect(moved).toEqual([listener.port]);
    expect(await served(listener.port)).toBe('a');
  });

  it('Listeners: a listener moved by a restart shows its new port and is reported for the portals', async () => {
    const bs = await backends('a', 'b');
    const lb = new LoadBalancer({ now: () => Date.now() });
    const rebound: [string, number | undefined][] = [];
    const listeners = new Listeners({
      family: 'IPv4',
      listenIP: '127.0.0.1',
      lb,
      wheel: new TimerWheel(10),
      logger: silentLogger,
      onRebound: (name, port) => rebound.push([name, port]),
      kernel: { restartBackoff: { baseMs: 1_000 }, testHooks: {} },
    });
    cleanups.push(() => listeners.closeAll());
    const { port } = await listeners.open(NAME, 'TCP');
    lb.setService(NAME, none, [makeTarget('127.0.0.1', bs[0]?.port ?? 0)]);
    listeners.drainRemoved();
    const relay = await listeners.engine();
    if (!relay) throw new Error('no kernel engine');
    relay.send({ op: 'crash' });
    await until(() => relay.stats.restarts === 1);
    // Endpoints changed while no worker runs: the re-open must carry them.
    lb.setService(NAME, none, [makeTarget('127.0.0.1', bs[1]?.port ?? 0)]);
    listeners.drainRemoved();
    await squat(port);
    await until(() => relay.stats.recovered === 1);
    const now = listeners.current.get(NAME)?.port ?? 0;
    expect(now).not.toBe(port);
    expect(rebound).toEqual([[NAME, now]]);
    expect(await served(now)).toBe('b');
  });

  it('a worker that dies at every start is restarted after growing, bounded delays, and not after stop', async () => {
    const errors: Entry[] = [];
    const relay = new KernelRelay({
      logger: recordingLogger(errors),
      failureBackoffMs: 1000,
      restartBackoff: { baseMs: 10, maxMs: 80 },
      testHooks: { crashOnStart: true },
    });
    await until(() => relay.stats.restarts >= 6);
    await relay.stop();
    const delays = errors.map((e) => e.fields.restartInMs);
    expect(delays.slice(0, 6)).toEqual([10, 20, 40, 80, 80, 80]);
    const after = relay.stats.restarts;
    await new Promise((r) => setTimeout(r, 200));
    expect(relay.stats.restarts).toBe(after);
  });
});

describe('kernel relay engine out of file descriptors', () => {
  const RUNNER = fileURLToPath(new URL('./support/kernel-relay-runner.ts', import.meta.url));
  const PAUSE_MS = 100; // ACCEPT_PAUSE_MS in relay-engine.ts

  it('pauses accept while no fd is left instead of spinning, and serves again once fds are free', async () => {
    const [b] = await backends('a');
    // A process of its own under a low fd limit (a shell builtin: nothing to install).
    const child = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, RUNNER, String(b?.port)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    cleanups.push(async () => {
      child.stdin.end();
      await exited;
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, number>> =>
      JSON.parse(String((await lines.next()).value)) as Record<string, number>;
    const ask = (cmd: string): Promise<Record<string, number>> => {
      child.stdin.write(`${cmd}\n`);
      return next();
    };
    const { port = 0 } = await next();
    expect(await exchange(port, 'x')).toEqual({ ok: true, text: 'a\nxbye 1\n' });

    expect((await ask('fill')).held).toBeGreaterThan(0);
    const started = performance.now();
    // Queued in the listener's backlog: accept4 cannot take it (EMFILE).
    const pending = exchange(port, 'y');
    await new Promise((r) => setTimeout(r, 1_000));
    const starved = await ask('stats');
    const elapsed = performance.now() - started;
    expect(starved.acceptFailures).toBeGreaterThan(0);
    // One failure per pause at most (a loaded machine only makes it fewer); a listener left armed
    // fails on every epoll_wait, thousands of times a second.
    expect(starved.acceptFailures).toBeLessThanOrEqual(Math.ceil(elapsed / PAUSE_MS) + 2);
    expect(starved.accepted).toBe(1);

    await ask('free');
    expect(await pending).toEqual({ ok: true, text: 'a\nybye 1\n' });
    expect(await exchange(port, 'z')).toEqual({ ok: true, text: 'a\nzbye 1\n' });
    expect((await ask('stats')).accepted).toBe(3);
  });
});
