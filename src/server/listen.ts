// Start and stop a node:http server with errors a runbook can act on: a bind failure names the
// server and address and carries the errno (EADDRINUSE, EACCES) in `cause`.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeProxyError } from '../errors.ts';

export interface RunningServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The host to pass to `server.listen`: undefined for the IPv4 wildcard, so Node listens on `::`
 * for both families (falling back to 0.0.0.0 where the kernel has no IPv6). Upstream binds
 * "0.0.0.0" and Go treats that as every address of both families ("It doesn't matter whether we
 * listen on "0.0.0.0", "::", or ""; go treats them all the same", pkg/proxy/healthcheck/
 * service_health.go), so a load balancer probing a node's IPv6 address is answered.
 */
export function listenHost(host: string): string | undefined {
  return host === '0.0.0.0' || host === '' ? undefined : host;
}

export function listen(what: string, server: Server, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(new KubeProxyError('KP_ERR_SERVER', `${what}: cannot listen on ${formatHostPort(host, port)}: ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      const addr = server.address() as AddressInfo;
      resolve({ host: addr.address, port: addr.port, close: () => closeServer(server) });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    const h = listenHost(host);
    if (h === undefined) server.listen(port);
    else server.listen(port, h);
  });
}

/** Stop accepting, drop idle keep-alive connections (or close waits for them), wait for the rest. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((err) => (err === undefined ? resolve() : reject(err)));
    server.closeIdleConnections();
  });
}
