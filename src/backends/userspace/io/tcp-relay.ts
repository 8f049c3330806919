// The TCP side of the userspace proxy: accept on the service's proxy port, dial an endpoint with
// retry (upstream v1.25 proxysocket.go tryConnectEndpoints: up to four dials with growing
// timeouts, the sticky choice reset after a failure), then relay bytes both ways.
//
// Why not socket.pipe(): pipe adds a dozen listeners and closures per direction, an extra
// 'unpipe'/'finish' machinery and flowing-mode turns. Here a connection is one Pair object; the
// listeners are module-level functions that find their peer through a symbol property, so accepting
// a connection allocates no closures. Back-pressure is write() → false ⇒ pause the reader, 'drain'
// ⇒ resume: never more than one highWaterMark buffered per direction. Timeouts live on the shared
// TimerWheel, not in a setTimeout per connection.
import net from 'node:net';
import type { Logger } from '../../../model/logger.ts';
import type { ServicePortName } from '../../../model/types.ts';
import { DIAL_TIMEOUTS_MS, type LoadBalancer, type Target } from '../load-balancer.ts';
import type { TimerWheel, WheelEntry } from './timer-wheel.ts';

const kPeer = Symbol('peer');
const kPair = Symbol('pair');

type RelaySocket = net.Socket & { [kPeer]?: net.Socket; [kPair]?: Pair };

export interface TcpRelayOptions {
  readonly name: ServicePortName;
  readonly lb: LoadBalancer;
  readonly wheel: TimerWheel;
  readonly logger: Logger;
  /** Connections held at once for this service port; more are reset at accept (default 10000). */
  readonly maxConnections?: number;
  /** How long connections to a removed endpoint may continue (default 30 s). */
  readonly drainTimeoutMs?: number;
  /** Dial timeouts, one per attempt (default upstream's 250/500/1000/2000 ms). */
  readonly dialTimeoutsMs?: readonly number[];
  /** Per-direction write buffer before the reader is paused (default 64 KiB, one kernel read). */
  readonly highWaterMark?: number;
}

const DIALING = 0;
const RELAYING = 1;
const DRAINING = 2;
const CLOSED = 3;

class Pair implements WheelEntry {
  wheelSlot = -1;
  state = DIALING;
  attempt = 0;
  upstream: RelaySocket | null = null;
  target: Target | null = null;
  readonly relay: TcpRelay;
  readonly client: RelaySocket;

  constructor(relay: TcpRelay, client: RelaySocket) {
    this.relay = relay;
    this.client = client;
  }

  onWheelTimeout(): void {
    if (this.state === DIALING) this.relay.dialFailed(this, 'timeout');
    else if (this.state === DRAINING) this.relay.destroy(this);
  }
}

// --- module-level listeners: `this` is the socket, its pair or peer is a property ---

function onClientError(this: RelaySocket): void {
  const pair = this[kPair];
  if (pair) pair.relay.destroy(pair);
}

function onUpstreamConnect(this: RelaySocket): void {
  const pair = this[kPair];
  if (pair) pair.relay.connected(pair);
}

function onUpstreamDialError(this: RelaySocket, err: NodeJS.ErrnoException): void {
  const pair = this[kPair];
  if (pair && pair.state === DIALING && pair.upstream === this) pair.relay.dialFailed(pair, err.code ?? err.message);
}

function onData(this: RelaySocket, chunk: Buffer): void {
  const peer = this[kPeer];
  if (peer && !peer.write(chunk)) this.pause();
}

function onDrain(this: RelaySocket): void {
  this[kPeer]?.resume();
}

/**
 * Half-close: the peer's write side is shut, its read side keeps flowing (allowHalfOpen). When the
 * peer had already sent its FIN (forwarded to us) and every byte both ways is flushed, nothing is
 * left to relay: close both at once. close() on a socket whose FIN we read and whose bytes we took
 * sends a FIN, as shutdown() would, without the second shutdown syscall, its event-loop turn and
 * the ENOTCONN it meets when the peer has gone (the usual end of a request-response connection).
 */
function onEnd(this: RelaySocket): void {
  const peer = this[kPeer];
  if (!peer) return;
  const pair = this[kPair];
  // writableEnded + writableLength 0, not writableFinished: when both FINs come in one poll, our
  // shutdown of `this` is still queued; close() sends that FIN just the same.
  if (pair && peer.readableEnded && this.writableEnded && this.writableLength === 0 && peer.writableLength === 0) {
    pair.relay.destroy(pair);
  } else peer.end();
}

function listenRelay(s: RelaySocket): void {
  s.on('data', onData);
  s.on('drain', onDrain);
  s.on('end', onEnd);
}

function onRelayError(this: RelaySocket): void {
  const pair = this[kPair];
  if (pair) pair.relay.destroy(pair);
}

function onRelayClose(this: RelaySocket, hadError: boolean): void {
  const pair = this[kPair];
  if (pair) pair.relay.closed(pair, this, hadError);
}

export class TcpRelay {
  readonly name: ServicePortName;
  readonly server: net.Server;
  readonly #lb: LoadBalancer;
  readonly #wheel: TimerWheel;
  readonly #logger: Logger;
  readonly #max: number;
  readonly #drainMs: number;
  readonly #dial: readonly number[];
  readonly #hwm: number;
  readonly #pairs = new Set<Pair>();
  /** Counters for metrics and tests. */
  readonly stats = { accepted: 0, dialFailures: 0, rejected: 0 };

  constructor(options: TcpRelayOptions) {
    this.name = options.name;
    this.#lb = options.lb;
    this.#wheel = options.wheel;
    this.#logger = options.logger;
    this.#max = options.maxConnections ?? 10_000;
    this.#drainMs = options.drainTimeoutMs ?? 30_000;
    this.#dial = options.dialTimeoutsMs ?? DIAL_TIMEOUTS_MS;
    this.#hwm = options.highWaterMark ?? 64 * 1024;
    // pauseOnConnect: the client's bytes wait in the kernel until an endpoint has accepted, so a
    // retry never has to replay anything and nothing is buffered for a connection still dialing.
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true, highWaterMark: this.#hwm });
    this.server.on('connection', (socket: net.Socket) => this.#accept(socket));
    this.server.on('error', (err) => this.#logger.error({ service: this.name, err }, 'userspace TCP listener error'));
  }

  get connections(): number {
    return this.#pairs.size;
  }

  #accept(socket: RelaySocket): void {
    if (this.#pairs.size >= this.#max) {
      this.stats.rejected++;
      socket.resetAndDestroy();
      return;
    }
    this.stats.accepted++;
    const pair = new Pair(this, socket);
    socket[kPair] = pair;
    socket.on('error', onClientError);
    socket.on('close', onRelayClose);
    this.#pairs.add(pair);
    this.#dialNext(pair);
  }

  #dialNext(pair: Pair): void {
    // remoteAddress is a getpeername syscall: only ClientIP affinity looks at it.
    const clientIP = this.#lb.needsClientIP(this.name) ? (pair.client.remoteAddress ?? '') : '';
    const target = this.#lb.next(this.name, clientIP, pair.attempt > 0);
    if (!target) {
      // No endpoint: reset, so the client sees a refusal as it would from iptables' REJECT.
      this.#logger.debug({ service: this.name }, 'userspace: no endpoints');
      this.destroy(pair, true);
      return;
    }
    pair.target = target;
    // highWaterMark reaches the socket's Duplex options (net.Socket passes them on); @types/node omits it.
    const opts: net.TcpNetConnectOpts & { highWaterMark: number } = {
      host: target.ip,
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
      highWaterMark: this.#hwm,
    };
    const up: RelaySocket = net.connect(opts);
    up[kPair] = pair;
    pair.upstream = up;
    up.on('connect', onUpstreamConnect);
    up.on('error', onUpstreamDialError);
    this.#wheel.arm(pair, this.#dial[pair.attempt] ?? 2000);
  }

  /** The dial to pair.target failed (refused, unreachable, timed out): try the next endpoint, bounded. */
  dialFailed(pair: Pair, reason: string): void {
    this.stats.dialFailures++;
    this.#wheel.disarm(pair);
    const up = pair.upstream;
    if (up) {
      up.removeListener('connect', onUpstreamConnect);
      up[kPair] = undefined;
      // Keep an 'error' listener: a late error on a socket we dropped must not crash the daemon.
      up.destroy();
    }
    pair.upstream = null;
    if (pair.target) this.#lb.markFailed(pair.target.key);
    this.#logger.debug({ service: this.name, endpoint: pair.target?.key, reason }, 'userspace: dial failed');
    pair.attempt++;
    if (pair.attempt >= this.#dial.length || pair.state !== DIALING) {
      this.destroy(pair, true);
      return;
    }
    this.#dialNext(pair);
  }

  connected(pair: Pair): void {
    const up = pair.upstream;
    if (!up || pair.state !== DIALING) return;
    this.#wheel.disarm(pair);
    pair.state = RELAYING;
    if (pair.target) this.#lb.markSucceeded(pair.target.key);
    const client = pair.client;
    up.removeListener('error', onUpstreamDialError);
    client[kPeer] = up;
    up[kPeer] = client;
    listenRelay(client);
    listenRelay(up);
    up.on('error', onRelayError);
    up.on('close', onRelayClose);
    client.resume();
  }

  /**
   * One side closed. After an orderly close (both of its directions done), bytes it sent may still
   * wait in the peer's write buffer: let them flush, bounded by the drain timeout, before closing
   * the peer. After an error, or with nothing pending, close everything now.
   */
  closed(pair: Pair, side: RelaySocket, hadError: boolean): void {
    const peer = side === pair.client ? pair.upstream : pair.client;
    const open = pair.state === RELAYING || pair.state === DRAINING;
    if (!hadError && open && peer && !peer.destroyed && peer.writableLength > 0) {
      peer.end();
      // A pair already draining (its endpoint left) keeps its earlier deadline.
      if (pair.state === RELAYING) this.#wheel.arm(pair, this.#drainMs);
      pair.state = DRAINING;
      return;
    }
    this.destroy(pair);
  }

  /** Close both sides (reset the client when `reset`, e.g. no endpoint could be reached). */
  destroy(pair: Pair, reset = false): void {
    if (pair.state === CLOSED) return;
    pair.state = CLOSED;
    this.#wheel.disarm(pair);
    this.#pairs.delete(pair);
    const up = pair.upstream;
    if (up && !up.destroyed) up.destroy();
    if (!pair.client.destroyed) {
      if (reset) pair.client.resetAndDestroy();
      else pair.client.destroy();
    }
  }

  /**
   * Endpoints left the service port: new connections already avoid them (the load balancer no
   * longer has them); established ones may finish within the drain timeout, then are closed.
   */
  drainRemoved(): void {
    for (const pair of this.#pairs) {
      if (pair.state === RELAYING && pair.target && !this.#lb.hasTarget(this.name, pair.target.key)) {
        pair.state = DRAINING;
        this.#wheel.arm(pair, this.#drainMs);
      }
    }
  }

  listen(host: string, port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog: 4096 }, () => {
        this.server.removeListener('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : 0);
      });
    });
  }

  /** Stop accepting and close every connection (service removed). */
  close(): Promise<void> {
    for (const pair of [...this.#pairs]) this.destroy(pair);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
