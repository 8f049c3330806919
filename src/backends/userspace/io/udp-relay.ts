// The UDP side of the userspace proxy (upstream v1.25 proxysocket.go udpProxySocket + ClientCache):
// one session per client address, each with its own socket connected to the chosen endpoint.
// Replies are sent from the listening socket, so after REDIRECT's reverse NAT the client sees them
// come from the service address and port it used. Sessions end after an idle timeout (upstream
// --udp-timeout, default 250 ms) or when the endpoint answers with ICMP port-unreachable, which
// also puts that endpoint in back-off so the client's next datagram goes elsewhere.
import dgram from 'node:dgram';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily, ServicePortName } from '../../../model/types.ts';
import type { LoadBalancer, Target } from '../load-balancer.ts';
import type { TimerWheel, WheelEntry } from './timer-wheel.ts';

const kSession = Symbol('session');
type SessionSocket = dgram.Socket & { [kSession]?: Session };

export interface UdpRelayOptions {
  readonly name: ServicePortName;
  readonly family: IPFamily;
  readonly lb: LoadBalancer;
  readonly wheel: TimerWheel;
  readonly logger: Logger;
  readonly idleTimeoutMs?: number;
  /** Sessions held at once for this service port; datagrams of further clients are dropped (default 10000). */
  readonly maxSessions?: number;
}

class Session implements WheelEntry {
  wheelSlot = -1;
  lastActive: number;
  connected = false;
  closed = false;
  /** Datagrams that arrived before the upstream socket finished connecting (bounded). */
  pending: Buffer[] = [];
  readonly relay: UdpRelay;
  readonly key: string;
  readonly clientIP: string;
  readonly clientPort: number;
  readonly target: Target;
  readonly socket: SessionSocket;

  constructor(relay: UdpRelay, key: string, ip: string, port: number, target: Target, socket: SessionSocket) {
    this.relay = relay;
    this.key = key;
    this.clientIP = ip;
    this.clientPort = port;
    this.target = target;
    this.socket = socket;
    this.lastActive = Date.now();
  }

  onWheelTimeout(): void {
    this.relay.checkIdle(this);
  }
}

const MAX_PENDING = 64;

function onUpstreamMessage(this: SessionSocket, msg: Buffer): void {
  const s = this[kSession];
  if (s) s.relay.reply(s, msg);
}

function onUpstreamConnect(this: SessionSocket): void {
  const s = this[kSession];
  if (s) s.relay.upstreamConnected(s);
}

function onUpstreamError(this: SessionSocket, err: NodeJS.ErrnoException): void {
  const s = this[kSession];
  if (s) s.relay.upstreamError(s, err);
}

export class UdpRelay {
  readonly name: ServicePortName;
  readonly socket: dgram.Socket;
  readonly #lb: LoadBalancer;
  readonly #wheel: TimerWheel;
  readonly #logger: Logger;
  readonly #idleMs: number;
  readonly #max: number;
  readonly #type: 'udp4' | 'udp6';
  readonly #sessions = new Map<string, Session>();
  readonly stats = { sessions: 0, dropped: 0, upstreamErrors: 0 };

  constructor(options: UdpRelayOptions) {
    this.name = options.name;
    this.#lb = options.lb;
    this.#wheel = options.wheel;
    this.#logger = options.logger;
    this.#idleMs = options.idleTimeoutMs ?? 250;
    this.#max = options.maxSessions ?? 10_000;
    this.#type = options.family === 'IPv6' ? 'udp6' : 'udp4';
    // IPv6-only, so the IPv4 proxier of a dual-stack node keeps the IPv4 side of its own ports.
    this.socket = dgram.createSocket({ type: this.#type, ipv6Only: this.#type === 'udp6' });
    this.socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
    this.socket.on('error', (err) => this.#logger.error({ service: this.name, err }, 'userspace UDP listener error'));
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  #onMessage(msg: Buffer, ip: string, port: number): void {
    const key = `${ip}|${port}`;
    let s = this.#sessions.get(key);
    if (!s) {
      if (this.#sessions.size >= this.#max) {
        this.stats.dropped++;
        return;
      }
      const target = this.#lb.next(this.name, ip, false);
      if (!target) {
        this.stats.dropped++;
        return;
      }
      const sock: SessionSocket = dgram.createSocket({ type: this.#type });
      s = new Session(this, key, ip, port, target, sock);
      sock[kSession] = s;
      sock.on('message', onUpstreamMessage);
      sock.on('connect', onUpstreamConnect);
      sock.on('error', onUpstreamError);
      sock.connect(target.port, target.ip);
      this.#sessions.set(key, s);
      this.stats.sessions++;
      this.#wheel.arm(s, this.#idleMs);
    }
    s.lastActive = Date.now();
    if (s.connected) s.socket.send(msg);
    else if (s.pending.length < MAX_PENDING) s.pending.push(msg);
    else this.stats.dropped++;
  }

  upstreamConnected(s: Session): void {
    if (s.closed) return;
    s.connected = true;
    for (const m of s.pending) s.socket.send(m);
    s.pending = [];
  }

  /** From the listening socket: the reverse NAT of the portal rule restores the service address. */
  reply(s: Session, msg: Buffer): void {
    s.lastActive = Date.now();
    this.socket.send(msg, s.clientPort, s.clientIP);
  }

  upstreamError(s: Session, err: NodeJS.ErrnoException): void {
    this.stats.upstreamErrors++;
    // ECONNREFUSED on a connected UDP socket is the endpoint's ICMP port-unreachable.
    if (err.code === 'ECONNREFUSED') this.#lb.markFailed(s.target.key);
    this.#logger.debug({ service: this.name, endpoint: s.target.key, code: err.code }, 'userspace: UDP endpoint error');
    this.closeSession(s);
  }

  checkIdle(s: Session): void {
    if (s.closed) return;
    const idle = Date.now() - s.lastActive;
    if (idle >= this.#idleMs) this.closeSession(s);
    else this.#wheel.arm(s, this.#idleMs - idle);
  }

  closeSession(s: Session): void {
    if (s.closed) return;
    s.closed = true;
    this.#wheel.disarm(s);
    if (this.#sessions.get(s.key) === s) this.#sessions.delete(s.key);
    s.socket.close();
  }

  /** Sessions to endpoints no longer in the service port end now; UDP has nothing to drain. */
  drainRemoved(): void {
    for (const s of [...this.#sessions.values()]) if (!this.#lb.hasTarget(this.name, s.target.key)) this.closeSession(s);
  }

  listen(host: string, port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind({ address: host, port }, () => {
        this.socket.removeListener('error', reject);
        resolve(this.socket.address().port);
      });
    });
  }

  close(): Promise<void> {
    for (const s of [...this.#sessions.values()]) this.closeSession(s);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
