// In-process backends and clients on 127.0.0.1 for the userspace relay tests (no namespaces).
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../src/model/logger.ts';

export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
  child: () => silentLogger,
};

export interface Backend {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A TCP backend: on connect it writes `name\n`; on each chunk it echoes it; on the client's
 * half-close it writes `bye <bytes received>\n` and ends (so half-close is observable).
 */
export async function tcpBackend(name: string): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let n = 0;
    s.write(`${name}\n`);
    s.on('data', (b: Buffer) => {
      n += b.length;
      s.write(b);
    });
    s.on('end', () => s.end(`bye ${n}\n`));
  });
  const port = await listen(server);
  return { name, port, close: () => closeServer(server, sockets) };
}

/** How one connection to a `speakFirst` backend ended. */
export interface Ending {
  readonly received: number;
  /** 'fin': the peer's orderly FIN; otherwise the socket error's code (e.g. ECONNRESET). */
  readonly how: string;
}

/**
 * A TCP backend that speaks first and closes first: it writes `greeting` and half-closes at once,
 * then reads (from `readAfterMs` on) until the client's FIN. `endings` records, per connection, the bytes it read
 * and whether the client side finished with a FIN or an error (a reset).
 */
export async function speakFirst(greeting: string, readAfterMs = 0): Promise<Backend & { endings: Ending[] }> {
  const sockets = new Set<net.Socket>();
  const endings: Ending[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    let received = 0;
    s.on('close', () => sockets.delete(s));
    s.on('data', (b: Buffer) => (received += b.length));
    s.on('error', (e: NodeJS.ErrnoException) => {
      endings.push({ received, how: e.code ?? e.message });
      s.destroy();
    });
    s.on('end', () => {
      endings.push({ received, how: 'fin' });
      s.destroy();
    });
    s.end(greeting);
    // Reading late lets the client's bytes back up in the relay's user-space write buffer.
    if (readAfterMs > 0) {
      s.pause();
      setTimeout(() => s.resume(), readAfterMs);
    }
  });
  const port = await listen(server);
  return { name: 'speak-first', port, endings, close: () => closeServer(server, sockets) };
}

/** A TCP backend that streams `total` bytes as fast as the connection accepts them; `sent` tracks progress. */
export async function flood(total: number): Promise<Backend & { sent(): number }> {
  const sockets = new Set<net.Socket>();
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    const pump = (): void => {
      while (sent < total && !s.destroyed) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  const port = await listen(server);
  return { name: 'flood', port, sent: () => sent, close: () => closeServer(server, sockets) };
}

/** A UDP backend answering each datagram with `name:payload`. */
export async function udpBackend(name: string): Promise<Backend> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => sock.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  return { name, port: sock.address().port, close: () => new Promise((r) => sock.close(() => r())) };
}

/** A port on 127.0.0.1 with nothing listening (connections are refused). */
export async function refusingPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface Exchange {
  readonly ok: boolean;
  readonly text: string;
  readonly error?: string;
}

/** Connect, optionally send `payload` and half-close, and collect everything until the server closes. */
export function exchange(port: number, payload?: string, host = '127.0.0.1'): Promise<Exchange> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, allowHalfOpen: true });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('connect', () => {
      if (payload !== undefined) s.end(payload);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, text, error: e.code ?? e.message }));
    s.on('end', () => {
      s.end();
      resolve({ ok: true, text });
    });
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    }),
  );
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((r) => server.close(() => r()));
}

/** Poll `cond` every 20 ms until true (the test's own timeout bounds it; no timing is asserted). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}
