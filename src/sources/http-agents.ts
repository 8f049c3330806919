// The connection pool of API requests: one node:http(s) Agent per cluster, user and TLS settings,
// kept while those stay the same (client-node keys its agents by cluster and user,
// config.js getAgentCacheKey; we add the TLS material so an exec plugin's new client certificate
// gets a new pool). Chosen as client-node's KubeConfig chooses (config.js createAgent):
// - proxy-url socks*: socks-proxy-agent; http(s)://: hpagent's HttpsProxyAgent or HttpProxyAgent
//   (both loaded only when a proxy is configured: nothing of them is in memory otherwise);
// - an http: server with insecure-skip-tls-verify: http.Agent; http: without it is refused;
// - otherwise https.Agent with the TLS settings.
// Connections are kept alive with TCP keep-alive probes after 30 s, as client-node's undici
// dispatcher (`connect: { keepAlive: true, keepAliveInitialDelay: 30000 }`).
import type { Agent } from 'node:http';
import { http, https } from '../system/node-http.ts';
import type { TlsOptions } from './request-context.ts';

export interface AgentTarget {
  /** The cluster's server URL. */
  server: string;
  skipTLSVerify: boolean;
  proxyUrl?: string | undefined;
  /** Identifies the cluster and user (the cache key, with the TLS material). */
  identity: string;
}

const KEEP_ALIVE = { keepAlive: true, keepAliveMsecs: 30_000 };

function text(v: Buffer | string | undefined): string {
  return v === undefined ? '' : typeof v === 'string' ? v : v.toString('base64');
}

export class AgentCache {
  #key = '';
  #agent: Agent | undefined;

  async agentFor(target: AgentTarget, tls: TlsOptions): Promise<Agent> {
    const key = JSON.stringify([target.identity, target.server, target.skipTLSVerify, target.proxyUrl ?? '', text(tls.ca), text(tls.cert), text(tls.key), tls.servername ?? '', tls.rejectUnauthorized ?? '']);
    if (this.#agent !== undefined && key === this.#key) return this.#agent;
    // The previous pool is left to close its idle sockets by itself: a watch may still be reading from it.
    this.#agent = await createAgent(target, tls);
    this.#key = key;
    return this.#agent;
  }
}

export async function createAgent(target: AgentTarget, tls: TlsOptions): Promise<Agent> {
  const { server, proxyUrl } = target;
  if (proxyUrl) {
    if (proxyUrl.startsWith('socks')) {
      const { SocksProxyAgent } = await import('socks-proxy-agent');
      return new SocksProxyAgent(proxyUrl, { ...tls, ...KEEP_ALIVE });
    }
    const { HttpProxyAgent, HttpsProxyAgent } = await import('hpagent');
    if (server.startsWith('https')) return new HttpsProxyAgent({ ...tls, ...KEEP_ALIVE, proxy: proxyUrl });
    if (server.startsWith('http')) return new HttpProxyAgent({ ...tls, ...KEEP_ALIVE, proxy: proxyUrl });
    throw new Error('Unsupported proxy type');
  }
  if (server.startsWith('http:')) {
    if (!target.skipTLSVerify) throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
    return new http.Agent(KEEP_ALIVE);
  }
  return new https.Agent({ ...tls, ...KEEP_ALIVE });
}
