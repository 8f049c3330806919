// Build a KubeConfig (kube-config.ts, client-node's semantics) the way kube-proxy's clientcmd.BuildConfigFromFlags does: a
// kubeconfig file, or in-cluster config when neither --kubeconfig nor --master is given, with
// --master overriding the server. Two gaps of client-node (whose behaviour kube-config.ts keeps) are closed here:
// - a user `tokenFile:` key (what kubeadm writes for kube-proxy) yields no Authorization header in
//   client-node 2.0.1, and `token-file:` is read once at load although bound ServiceAccount tokens
//   are rotated by the kubelet (ecosystem.md §3.4). We strip both keys before client-node parses the
//   file and authenticate through our own provider that re-reads (and trims) the file every minute.
// - client-node refuses `http://` servers unless skipTLSVerify is set; there is no TLS to verify on
//   plain http, so we set it for those servers only (tests, `kubectl proxy`).
// Two client-go behaviours are added on the KubeConfig itself, through which every request of the
// generated API clients and of Watch authenticates (applySecurityAuthentication):
// - clientConnection.qps/burst: each request first takes a token from a token bucket (rest.Config
//   QPS/Burst → flowcontrol.NewTokenBucketRateLimiter; request.go throttles lists and watches);
// - a 401 drops the cached token file contents, so the retry reads the file again
//   (transport/round_trippers.go tokenSourceTransport → ResetTokenOlderThan), instead of sending
//   the rejected token until the minute is up.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type Authenticator, type Cluster, type User } from './kube-config.ts';
import type { RequestContext } from './request-context.ts';
import { parse } from 'yaml';
import { KubeProxyError } from '../errors.ts';
import { TokenBucket, type RateLimit } from './token-bucket.ts';

export const TOKEN_FILE_PROVIDER = 'kube-proxy-ts-token-file';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads token files every minute (transport/token_source.go cachingTokenSource). */
const TOKEN_REREAD_MS = 60_000;

export interface KubeConfigOptions {
  /** `--kubeconfig` / clientConnection.kubeconfig; empty or undefined for none. */
  kubeconfig?: string;
  /** `--master`: overrides the server of the kubeconfig, or is the whole config without one. */
  master?: string;
  /** The environment (KUBERNETES_SERVICE_HOST/PORT for in-cluster); defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Where the ServiceAccount token and CA are mounted (tests point it elsewhere). */
  serviceAccountDir?: string;
  now?: () => number;
  /** clientConnection.qps/burst as effectiveRateLimit gives them; null or absent: unlimited. */
  rateLimit?: RateLimit | null;
  /** Told how long a request waited for its token, when it had to wait. */
  onThrottled?: (waitedMs: number) => void;
}

/** The KubeConfig the daemon uses: rate-limited requests and a token re-read after a 401. */
export class ProxyKubeConfig extends KubeConfig {
  #bucket: TokenBucket | undefined;
  #onThrottled: ((waitedMs: number) => void) | undefined;
  readonly tokens: TokenFileAuthenticator;

  constructor(tokens: TokenFileAuthenticator) {
    super();
    this.tokens = tokens;
    this.addAuthenticator(tokens);
  }

  setRateLimit(limit: RateLimit | null | undefined, onThrottled?: (waitedMs: number) => void): void {
    this.#bucket = limit ? new TokenBucket(limit, Date.now) : undefined;
    this.#onThrottled = onThrottled;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const waitMs = this.#bucket?.reserve() ?? 0;
    if (waitMs > 0) {
      this.#onThrottled?.(waitMs);
      await sleep(waitMs);
    }
    await super.applySecurityAuthentication(context);
  }

  /**
   * Credentials without taking a token: for the continuation pages of one list (api-list.ts), which
   * the rate limit charges once. client-go throttles every page; at the default qps 5 that made the
   * 40 pages of a 10k × 10 cluster's lists take 8 s (daemon-memory bench), slower than one list.
   */
  async applyUnthrottled(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
  }

  /** The API server answered 401: the token may have been rotated under us; read it again next time. */
  tokenRejected(): void {
    this.tokens.reset();
  }
}

/** Reads a bearer token from a file, re-reading it at most once a minute so rotated tokens are picked up. */
export class TokenFileAuthenticator implements Authenticator {
  private readonly cache = new Map<string, { token: string; readAt: number }>();
  private readonly now: () => number;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }
  /** Forget what was read, so the next request reads every token file again. */
  reset(): void {
    this.cache.clear();
  }
  isAuthProvider(user: User): boolean {
    const provider = user.authProvider as { name?: string } | undefined;
    return provider?.name === TOKEN_FILE_PROVIDER;
  }
  async applyAuthentication(user: User, opts: { headers?: Record<string, unknown> }): Promise<void> {
    const path = (user.authProvider as { config: { path: string } }).config.path;
    const hit = this.cache.get(path);
    let token = hit?.token;
    if (hit === undefined || this.now() - hit.readAt > TOKEN_REREAD_MS) {
      try {
        token = readFileSync(path, 'utf8').trim();
        this.cache.set(path, { token, readAt: this.now() });
      } catch (err) {
        // A token file briefly missing while the kubelet swaps it: keep the last token if we have one.
        if (token === undefined) throw new KubeProxyError('KP_ERR_KUBECONFIG', `token file ${path}: unreadable`, { cause: err });
      }
    }
    opts.headers ??= {};
    if (token) opts.headers.Authorization = `Bearer ${token}`;
  }
}

// The config key is `path`, not `tokenFile`: client-node's own FileAuth claims any provider whose
// config has `tokenFile` (file_auth.js isAuthProvider) and does not trim the trailing newline.
function tokenFileUser(name: string, tokenFile: string): User {
  return { name, authProvider: { name: TOKEN_FILE_PROVIDER, config: { path: tokenFile } } };
}

function withServer(cluster: Cluster, master: string | undefined): Cluster {
  const server = master || cluster.server;
  return { ...cluster, server, skipTLSVerify: cluster.skipTLSVerify || server.startsWith('http:') };
}

interface RawKubeconfig {
  users?: { name?: string; user?: Record<string, unknown> }[];
}

function fromFile(path: string, kc: KubeConfig): Map<string, string> {
  let raw: RawKubeconfig;
  try {
    raw = (parse(readFileSync(path, 'utf8')) ?? {}) as RawKubeconfig;
  } catch (err) {
    throw new KubeProxyError('KP_ERR_KUBECONFIG', `kubeconfig ${path}: cannot read or parse`, { cause: err });
  }
  const tokenFiles = new Map<string, string>();
  for (const entry of raw.users ?? []) {
    const user = entry.user;
    if (!user || !entry.name) continue;
    const file = user.tokenFile ?? user['token-file'];
    if (typeof file === 'string' && file !== '') {
      tokenFiles.set(entry.name, isAbsolute(file) ? file : join(dirname(path), file));
      delete user.tokenFile;
      delete user['token-file'];
    }
  }
  try {
    kc.loadFromObject(raw);
    kc.makePathsAbsolute(dirname(path));
  } catch (err) {
    throw new KubeProxyError('KP_ERR_KUBECONFIG', `kubeconfig ${path}: invalid`, { cause: err });
  }
  return tokenFiles;
}

function inCluster(opts: KubeConfigOptions, kc: KubeConfig): void {
  const env = opts.env ?? process.env;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeProxyError('KP_ERR_KUBECONFIG', 'no --kubeconfig or --master given and not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)');
  }
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: `https://${hostPart}:${port}`, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    users: [tokenFileUser('in-cluster', join(dir, 'token'))],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
    currentContext: 'in-cluster',
  });
}

/** The KubeConfig main.ts hands to `createKubeClient`. Throws KP_ERR_KUBECONFIG with the reason. */
export function loadKubeConfig(opts: KubeConfigOptions): ProxyKubeConfig {
  const kc = new ProxyKubeConfig(new TokenFileAuthenticator(opts.now));
  kc.setRateLimit(opts.rateLimit, opts.onThrottled);
  let tokenFiles = new Map<string, string>();
  if (opts.kubeconfig) {
    tokenFiles = fromFile(opts.kubeconfig, kc);
  } else if (opts.master) {
    kc.loadFromOptions({
      clusters: [{ name: 'master', server: opts.master, skipTLSVerify: false }],
      users: [{ name: 'anonymous' }],
      contexts: [{ name: 'master', cluster: 'master', user: 'anonymous' }],
      currentContext: 'master',
    });
  } else {
    inCluster(opts, kc);
  }
  const current = kc.getCurrentCluster();
  if (!current) throw new KubeProxyError('KP_ERR_KUBECONFIG', `kubeconfig: current context "${kc.currentContext}" names no cluster`);
  // client-node's azure, gcp and oidc auth-providers (removed from kubectl and client-go's
  // defaults) are not in kube-config.ts: refused here, by name, rather than sending no credentials.
  const provider = kc.getCurrentUser()?.authProvider?.name;
  if (provider !== undefined && provider !== TOKEN_FILE_PROVIDER && provider !== 'exec') {
    throw new KubeProxyError('KP_ERR_KUBECONFIG', `kubeconfig: user "${kc.getCurrentUser()?.name ?? ''}": auth-provider "${provider}" is not supported; use an exec credential plugin or a token`);
  }
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => withServer(c, c.name === current.name ? opts.master : undefined)),
    users: kc.users.map((u) => {
      const file = tokenFiles.get(u.name);
      return file === undefined ? u : tokenFileUser(u.name, file);
    }),
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return kc;
}
