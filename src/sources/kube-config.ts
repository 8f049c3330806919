// The kubeconfig client the daemon authenticates every API request with: a port of the parts of
// client-node 2.0.1's KubeConfig that kube-proxy-ts uses (config.js, config_types.js), with the same
// field names and the same results for the same kubeconfig: clusters (server, CA file/data,
// insecure-skip-tls-verify, tls-server-name, proxy-url), users (token, token-file, client
// certificate and key as file or data, username/password, `as`, exec plugins, custom
// authenticators), contexts. test/kube-config-differential.test.ts loads the same kubeconfigs
// through client-node and through this and expects the same requests, TLS settings and credentials.
// Why not client-node itself: importing any of it costs ~40 MiB of RSS (its generated API, undici,
// js-yaml, openid-client, jose, ws, socks …) of a 60 MiB idle target (issue 14; measured in
// docs/operations.md "Memory"). Not ported: loadFromDefault/loadFromCluster (kubeconfig.ts builds
// kube-proxy's own in-cluster config) and the deprecated azure/gcp/oidc auth-providers, which
// kubeconfig.ts refuses with a message.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { AgentCache } from './http-agents.ts';
import { ExecAuth, type ExecConfig } from './exec-credential.ts';
import type { RequestContext, TlsOptions } from './request-context.ts';

export interface Cluster {
  name: string;
  server: string;
  caData?: string | undefined;
  caFile?: string | undefined;
  skipTLSVerify: boolean;
  tlsServerName?: string | undefined;
  proxyUrl?: string | undefined;
}

export interface User {
  name: string;
  certData?: string | null | undefined;
  certFile?: string | null | undefined;
  keyData?: string | null | undefined;
  keyFile?: string | null | undefined;
  token?: string | undefined;
  username?: string | null | undefined;
  password?: string | null | undefined;
  impersonateUser?: string | null | undefined;
  exec?: ExecConfig | null | undefined;
  authProvider?: { name?: string; config?: Record<string, unknown> } | null | undefined;
}

export interface Context {
  name: string;
  cluster: string;
  user?: string | undefined;
  namespace?: string | undefined;
}

/** What authenticators fill: headers and, for exec plugins, a client certificate. */
export interface AuthOptions extends TlsOptions {
  headers?: Record<string, unknown>;
}

export interface Authenticator {
  isAuthProvider(user: User): boolean;
  applyAuthentication(user: User, opts: AuthOptions): Promise<void>;
}

type Raw = Record<string, unknown>;
const rec = (v: unknown): Raw => (typeof v === 'object' && v !== null ? (v as Raw) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): Raw[] => (Array.isArray(v) ? v.map(rec) : []);

function newCluster(elt: Raw, i: number): Cluster {
  if (!elt.name) throw new Error(`clusters[${i}].name is missing`);
  const c = elt.cluster === undefined || elt.cluster === null ? undefined : rec(elt.cluster);
  if (!c) throw new Error(`clusters[${i}].cluster is missing`);
  if (!c.server) throw new Error(`clusters[${i}].cluster.server is missing`);
  return {
    caData: str(c['certificate-authority-data']), caFile: str(c['certificate-authority']), name: String(elt.name),
    server: String(c.server).replace(/\/$/, ''), skipTLSVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: str(c['tls-server-name']), proxyUrl: str(c['proxy-url']),
  };
}

function newUser(elt: Raw, i: number): User {
  if (!elt.name) throw new Error(`users[${i}].name is missing`);
  const u = elt.user === undefined || elt.user === null ? undefined : rec(elt.user);
  // config_types.js findToken: `token`, else `token-file` read once, as is.
  const token = str(u?.token) || (str(u?.['token-file']) ? readFileSync(String(u?.['token-file'])).toString() : undefined);
  return {
    authProvider: u ? (u['auth-provider'] as User['authProvider']) : null, certData: u ? str(u['client-certificate-data']) : null,
    certFile: u ? str(u['client-certificate']) : null, exec: u ? (u.exec as ExecConfig | undefined) : null,
    keyData: u ? str(u['client-key-data']) : null, keyFile: u ? str(u['client-key']) : null, name: String(elt.name), token,
    password: u ? str(u.password) : null, username: u ? str(u.username) : null, impersonateUser: u ? str(u.as) : null,
  };
}

function newContext(elt: Raw, i: number): Context {
  if (!elt.name) throw new Error(`contexts[${i}].name is missing`);
  const c = elt.context === undefined || elt.context === null ? undefined : rec(elt.context);
  if (!c) throw new Error(`contexts[${i}].context is missing`);
  if (!c.cluster) throw new Error(`contexts[${i}].context.cluster is missing`);
  return { cluster: String(c.cluster), name: String(elt.name), user: str(c.user) || undefined, namespace: str(c.namespace) || undefined };
}

/** config.js bufferFromFileOrString: a file (read at every request) wins over base64 data. */
function fileOrData(file: string | null | undefined, data: string | null | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

export class KubeConfig {
  clusters: Cluster[] = [];
  users: User[] = [];
  contexts: Context[] = [];
  currentContext = '';
  readonly #authenticators: Authenticator[] = [new ExecAuth()];
  readonly #custom: Authenticator[] = [];
  readonly #agents = new AgentCache();

  addAuthenticator(authenticator: Authenticator): void {
    this.#custom.push(authenticator);
  }

  loadFromString(text: string): void {
    this.loadFromObject(parse(text));
  }

  /** A parsed kubeconfig document (config.js loadFromString after its yaml.load). */
  loadFromObject(doc: unknown): void {
    const obj = rec(doc);
    this.clusters = list(obj.clusters).map(newCluster);
    this.contexts = list(obj.contexts).map(newContext);
    this.users = list(obj.users).map(newUser);
    this.currentContext = str(obj['current-context']) ?? '';
  }

  loadFromOptions(o: { clusters: Cluster[]; users: User[]; contexts: Context[]; currentContext: string }): void {
    this.clusters = o.clusters;
    this.contexts = o.contexts;
    this.users = o.users;
    this.currentContext = o.currentContext;
  }

  makePathsAbsolute(root: string): void {
    const abs = (file: string): string => (!root || isAbsolute(file) ? file : join(root, file));
    for (const c of this.clusters) if (c.caFile) c.caFile = abs(c.caFile);
    for (const u of this.users) {
      if (u.certFile) u.certFile = abs(u.certFile);
      if (u.keyFile) u.keyFile = abs(u.keyFile);
    }
  }

  getCurrentContext(): string {
    return this.currentContext;
  }

  getContextObject(name: string | undefined): Context | null {
    return this.contexts.find((c) => c.name === name) ?? null;
  }

  getCluster(name: string | undefined): Cluster | null {
    return this.clusters.find((c) => c.name === name) ?? null;
  }

  getUser(name: string | undefined): User | null {
    return this.users.find((u) => u.name === name) ?? null;
  }

  getCurrentCluster(): Cluster | null {
    const ctx = this.getContextObject(this.currentContext);
    return ctx ? this.getCluster(ctx.cluster) : null;
  }

  getCurrentUser(): User | null {
    const ctx = this.getContextObject(this.currentContext);
    return ctx ? this.getUser(ctx.user) : null;
  }

  /** TLS settings and headers of the current cluster and user (config.js applyOptions). */
  async applyOptions(opts: AuthOptions): Promise<void> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!user) return;
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = cluster ? fileOrData(cluster.caFile, cluster.caData) : undefined;
    if (ca) opts.ca = ca;
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) opts.key = key;
    if (user.impersonateUser != null) (opts.headers ??= {})['Impersonate-User'] = user.impersonateUser;
    const authenticator = this.#authenticators.find((a) => a.isAuthProvider(user)) ?? this.#custom.find((a) => a.isAuthProvider(user));
    opts.headers ??= {};
    if (authenticator) await authenticator.applyAuthentication(user, opts);
    if (user.token) opts.headers.Authorization = `Bearer ${user.token}`;
  }

  /** client-node's name for applyOptions (kept for the callers and tests written against it). */
  applyToHTTPSOptions(opts: AuthOptions): Promise<void> {
    return this.applyOptions(opts);
  }

  /** Headers, TLS settings and connection of one request (config.js applySecurityAuthentication). */
  async applySecurityAuthentication(ctx: RequestContext): Promise<void> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const opts: AuthOptions = {};
    await this.applyOptions(opts);
    if (user?.username) ctx.setHeaderParam('Authorization', `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`);
    for (const [k, v] of Object.entries(opts.headers ?? {})) ctx.setHeaderParam(k, `${String(v)}`);
    const tls: TlsOptions = {};
    for (const k of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) if (opts[k] !== undefined) (tls as Record<string, unknown>)[k] = opts[k];
    ctx.tls = tls;
    ctx.proxyUrl = cluster?.proxyUrl;
    const target = {
      server: cluster?.server ?? ctx.getUrl(), skipTLSVerify: cluster?.skipTLSVerify ?? false, proxyUrl: cluster?.proxyUrl,
      identity: JSON.stringify([cluster?.name ?? '', user?.name ?? '']),
    };
    ctx.setAgent(await this.#agents.agentFor(target, tls));
  }
}
