// One API request's URL, headers and connection (an http.Agent carrying its TLS settings), as
// client-node's RequestContext carries them for its Watch (gen/http/http.js), so kube-config.ts can
// authenticate lists, watches and creates exactly as client-node's KubeConfig does. The connection
// is a node:http(s) Agent, not client-node's undici Agent: loading the undici package costs ~28 MiB
// of RSS against ~11 MiB for node:https (issue 14, docs/operations.md "Memory").
import type { Agent } from 'node:http';

export const HttpMethod = { GET: 'GET', POST: 'POST' } as const;
export type HttpMethod = (typeof HttpMethod)[keyof typeof HttpMethod];

/** TLS settings of a request, with client-node's names (config.js applyHTTPSOptions). */
export interface TlsOptions {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export class RequestContext {
  readonly #url: URL;
  readonly httpMethod: HttpMethod;
  readonly #headers: Record<string, string> = {};
  #agent: Agent | undefined;
  /** What the agent was built from (the differential test compares it with client-node's). */
  tls: TlsOptions = {};
  /** The kubeconfig's proxy-url, if any. */
  proxyUrl: string | undefined;

  constructor(url: string, httpMethod: HttpMethod) {
    this.#url = new URL(url);
    this.httpMethod = httpMethod;
  }

  getUrl(): string {
    return this.#url.toString();
  }

  getHeaders(): Record<string, string> {
    return this.#headers;
  }

  setHeaderParam(key: string, value: string): void {
    this.#headers[key] = value;
  }

  getAgent(): Agent | undefined {
    return this.#agent;
  }

  setAgent(agent: Agent): void {
    this.#agent = agent;
  }
}
