// Per-service health-check servers for externalTrafficPolicy: Local LoadBalancer Services, as
// upstream's ServiceHealthServer (kubernetes/kubernetes pkg/proxy/healthcheck/service_health.go):
// one HTTP listener per healthCheckNodePort (on each node-port address, or all addresses), which
// the cloud load balancer probes to learn whether this node has ready endpoints of the Service.
// 200 when it has and kube-proxy is healthy, else 503. A port that cannot be bound is logged,
// left out, and tried again on the next syncServices (every sync), without affecting the others.
import type { Server } from 'node:http';
import { http } from '../system/node-http.ts';
import type { Logger } from '../model/logger.ts';
import type { NamespacedName } from '../model/types.ts';
import type { ServiceHealthSink } from '../sync/sync-loop.ts';
import { describeError } from '../errors.ts';
import { closeServer, formatHostPort, listen } from './listen.ts';

export interface ServiceHealthServerOptions {
  /** Addresses to listen on; default ['0.0.0.0'] (upstream listens on all when nodePortAddresses match all). */
  readonly addresses?: readonly string[];
  /** kube-proxy's own health without node eligibility (ProxyHealth.isHealthy). */
  readonly proxyHealthy: () => boolean;
  readonly logger: Logger;
}

interface Instance {
  readonly nsn: NamespacedName;
  readonly port: number;
  readonly servers: Server[];
  endpoints: number;
  /** Resolves when every listener is bound or the instance was dropped for a bind error. */
  opening: Promise<void>;
}

export class ServiceHealthServer implements ServiceHealthSink {
  readonly #addresses: readonly string[];
  readonly #proxyHealthy: () => boolean;
  readonly #logger: Logger;
  readonly #services = new Map<NamespacedName, Instance>();
  readonly #closing = new Set<Promise<void>>();

  constructor(opts: ServiceHealthServerOptions) {
    this.#addresses = opts.addresses !== undefined && opts.addresses.length > 0 ? opts.addresses : ['0.0.0.0'];
    this.#proxyHealthy = opts.proxyHealthy;
    this.#logger = opts.logger;
  }

  /** Open listeners for new services, close those gone or whose port changed; others untouched. */
  syncServices(services: ReadonlyMap<NamespacedName, number>): void {
    for (const [nsn, inst] of this.#services) {
      if (services.get(nsn) !== inst.port) {
        this.#logger.debug({ service: nsn, port: inst.port }, 'closing service health check');
        this.#services.delete(nsn);
        this.#close(inst);
      }
    }
    for (const [nsn, port] of services) {
      if (this.#services.has(nsn) || !(port > 0 && port < 65536)) continue;
      this.#logger.debug({ service: nsn, port }, 'opening service health check');
      this.#open(nsn, port);
    }
  }

  /** Local ready endpoint counts; services not in the map count 0 (upstream SyncEndpoints). */
  syncEndpoints(endpoints: ReadonlyMap<NamespacedName, number>): void {
    for (const [nsn, inst] of this.#services) inst.endpoints = endpoints.get(nsn) ?? 0;
  }

  /** Services with a bound (or binding) listener, and their ports. */
  listening(): Map<NamespacedName, number> {
    return new Map([...this.#services].map(([k, v]) => [k, v.port]));
  }

  /** Wait until listeners being opened or closed have settled (for tests and orderly start). */
  async settled(): Promise<void> {
    await Promise.all([...this.#services.values()].map((i) => i.opening));
    // A failed open schedules its close while settling, so drain until nothing is closing.
    while (this.#closing.size > 0) await Promise.all([...this.#closing]);
  }

  async close(): Promise<void> {
    const all = [...this.#services.values()];
    this.#services.clear();
    for (const inst of all) this.#close(inst);
    await this.settled();
  }

  #open(nsn: NamespacedName, port: number): void {
    const inst: Instance = { nsn, port, servers: [], endpoints: 0, opening: Promise.resolve() };
    this.#services.set(nsn, inst);
    const slash = nsn.indexOf('/');
    const namespace = nsn.slice(0, slash);
    const name = nsn.slice(slash + 1);
    for (let i = 0; i < this.#addresses.length; i++) {
      inst.servers.push(
        http.createServer((_req, res) => {
          const count = this.#services.get(nsn) === inst ? inst.endpoints : 0;
          const healthy = this.#proxyHealthy();
          res.writeHead(count !== 0 && healthy ? 200 : 503, {
            'Content-Type': 'application/json',
            'X-Content-Type-Options': 'nosniff',
            // Newer upstream: lets weighted load balancers spread by local endpoint count.
            'X-Load-Balancing-Endpoint-Weight': String(count),
          });
          res.end(JSON.stringify({ service: { namespace, name }, localEndpoints: count, serviceProxyHealthy: healthy }));
        }),
      );
    }
    // allSettled, not all: every listen must have finished before a failed instance is closed,
    // or a listener still binding would outlive the close.
    inst.opening = Promise.allSettled(
      inst.servers.map((s, i) => listen('service health check', s, this.#addresses[i] ?? '0.0.0.0', port)),
    ).then((results) => {
      const failed = results.find((r) => r.status === 'rejected');
      if (failed === undefined) return;
      const err: unknown = failed.reason;
      // Upstream closes what did open (so the port is free for a retry or a new owner) and tries
      // again on the next SyncServices; it also emits a FailedToStartServiceHealthcheck event.
      this.#logger.error(
        { err, service: nsn, port, addresses: this.#addresses.map((a) => formatHostPort(a, port)), reason: describeError(err) },
        'failed to start service health check, will retry on next sync',
      );
      if (this.#services.get(nsn) === inst) this.#services.delete(nsn);
      inst.opening = Promise.resolve();
      this.#close(inst);
    });
  }

  #close(inst: Instance): void {
    const done = inst.opening
      .then(() => Promise.all(inst.servers.map((s) => closeServer(s))))
      .then(
        () => undefined,
        (err: unknown) => this.#logger.error({ err, service: inst.nsn, port: inst.port }, 'closing service health check failed'),
      )
      .finally(() => this.#closing.delete(done));
    this.#closing.add(done);
  }
}
