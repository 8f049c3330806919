// Holds the claimed node ports open (upstream v1.25 userspace/proxier.go claimNodePort /
// releaseNodePort and its portMap): a listening TCP socket or a bound UDP socket per claim, so
// that nothing else can bind the port while the service exists. Upstream notes bind() alone would
// do for TCP but listens so that `ss -ltn` shows who holds the port; we listen for the same reason.
// Traffic never reaches these sockets while the portal rules redirect the port; a connection that
// does (rules not there yet, or flushed) is reset at once rather than left hanging in the backlog.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily } from '../../../model/types.ts';
import type { PortClaim } from '../claims.ts';

interface Held {
  owner: string;
  close(): Promise<void>;
}

export interface ClaimFailure {
  readonly claim: PortClaim;
  readonly code: string;
}

function openTcp(c: PortClaim, v6: boolean, log: Logger): Promise<Held> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      log.warn({ claim: c.key }, 'userspace: connection reached a claimed node port (portal rules missing?): reset');
      sock.on('error', (err) => log.debug({ claim: c.key, err }, 'userspace: reset connection error'));
      sock.resetAndDestroy();
    });
    server.once('error', reject);
    server.listen({ host: c.ip, port: c.port, ipv6Only: v6, exclusive: true, backlog: 16 }, () => {
      server.removeListener('error', reject);
      server.on('error', (err) => log.error({ claim: c.key, err }, 'userspace: node port claim socket error'));
      resolve({ owner: c.owner, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

function openUdp(c: PortClaim, v6: boolean, log: Logger): Promise<Held> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
    sock.once('error', reject);
    sock.bind({ address: c.ip, port: c.port, exclusive: true }, () => {
      sock.removeListener('error', reject);
      sock.on('error', (err) => log.error({ claim: c.key, err }, 'userspace: node port claim socket error'));
      resolve({ owner: c.owner, close: () => new Promise((r) => sock.close(() => r())) });
    });
  });
}

export class NodePortClaims {
  readonly #family: IPFamily;
  readonly #log: Logger;
  readonly #held = new Map<string, Held>();

  constructor(options: { readonly family: IPFamily; readonly logger: Logger }) {
    this.#family = options.family;
    this.#log = options.logger;
  }

  /**
   * Open every claim not held yet (a held key passes to its new owner: the port stays taken).
   * Returns the claims that could not be opened, e.g. EADDRINUSE when another program has the port.
   */
  async claim(claims: readonly PortClaim[]): Promise<ClaimFailure[]> {
    const failures: ClaimFailure[] = [];
    const v6 = this.#family === 'IPv6';
    for (const c of claims) {
      const held = this.#held.get(c.key);
      if (held) {
        held.owner = c.owner;
        continue;
      }
      try {
        const h = await (c.protocol === 'TCP' ? openTcp(c, v6, this.#log) : openUdp(c, v6, this.#log));
        this.#held.set(c.key, h);
        this.#log.info({ claim: c.key, service: c.owner }, 'userspace: claimed node port');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
        failures.push({ claim: c, code });
      }
    }
    return failures;
  }

  /** Close the claims not in `keep` (upstream releaseNodePort when a service port goes). */
  async releaseExcept(keep: ReadonlySet<string>): Promise<void> {
    for (const [key, h] of [...this.#held]) {
      if (keep.has(key)) continue;
      this.#held.delete(key);
      await h.close();
      this.#log.info({ claim: key, service: h.owner }, 'userspace: released node port');
    }
  }

  async closeAll(): Promise<void> {
    await this.releaseExcept(new Set());
  }
}
