// Differential test of the daemon's kubeconfig client (src/sources/kube-config.ts, and the daemon's
// loader kubeconfig.ts on top of it) against client-node 2.0's KubeConfig, the library it replaces
// at run time (issue 14): the same kubeconfigs, loaded through both, must give the same request
// (URL, every header including Authorization), the same TLS settings (ca, cert, key, servername,
// rejectUnauthorized), the same proxy and the same credentials. client-node is the oracle here: a
// devDependency, never loaded by the daemon.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as clientNode from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeConfig } from '../src/sources/kube-config.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { HttpMethod, RequestContext } from '../src/sources/request-context.ts';

const dir = mkdtempSync(join(tmpdir(), 'kpt-kc-diff-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const CA = file('ca.crt', '-----BEGIN CERTIFICATE-----\nca-file\n-----END CERTIFICATE-----\n');
const CERT = file('client.crt', '-----BEGIN CERTIFICATE-----\nclient-file\n-----END CERTIFICATE-----\n');
const KEY = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey-file\n-----END PRIVATE KEY-----\n');
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const TOKEN_FILE = file('token', 'file-token');
const EXEC = file('exec-plugin.sh', `#!/bin/sh
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-%s-%s"%s}}' "$1" "$PLUGIN_ENV" "$CERTS"
`);
chmodSync(EXEC, 0o755);
const EXEC_CERTS = `,"clientCertificateData":"${'-----BEGIN CERTIFICATE-----\\\\nexec\\\\n-----END CERTIFICATE-----'}","clientKeyData":"exec-key"`;

const kubeconfig = (cluster: string, user: string): string => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: ${cluster}
users:
- name: u
  user: ${user}
contexts:
- name: ctx
  context: { cluster: c, user: u, namespace: kube-system }
current-context: ctx
`;

const SERVER = 'server: "https://192.0.2.1:6443/"';
/** [case, cluster, user]: every kubeconfig feature the daemon's client must read as client-node does. */
const CASES: [string, string, string][] = [
  ['token', `{ ${SERVER}, certificate-authority: ${CA} }`, '{ token: abc.def }'],
  ['client certificate and key files, CA file', `{ ${SERVER}, certificate-authority: ${CA} }`, `{ client-certificate: ${CERT}, client-key: ${KEY} }`],
  ['relative certificate paths', `{ ${SERVER}, certificate-authority: ca.crt }`, '{ client-certificate: client.crt, client-key: client.key }'],
  ['client certificate and key data, CA data', `{ ${SERVER}, certificate-authority-data: ${b64('ca-data')} }`, `{ client-certificate-data: ${b64('cert-data')}, client-key-data: ${b64('key-data')} }`],
  ['token-file (read once, as is)', `{ ${SERVER} }`, `{ token-file: ${TOKEN_FILE} }`],
  ['exec plugin with args and env', `{ ${SERVER}, certificate-authority: ${CA} }`,
    `{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ${EXEC}, args: [one], env: [{ name: PLUGIN_ENV, value: two }, { name: CERTS, value: '' }] } }`],
  ['exec plugin giving a client certificate', `{ ${SERVER} }`,
    `{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ${EXEC}, args: [c], env: [{ name: CERTS, value: '${EXEC_CERTS}' }] } }`],
  ['http proxy-url', `{ ${SERVER}, proxy-url: "http://proxy.example:3128", certificate-authority: ${CA} }`, '{ token: t }'],
  ['socks5 proxy-url', `{ ${SERVER}, proxy-url: "socks5://proxy.example:1080" }`, '{ token: t }'],
  ['http proxy-url to an http server', '{ server: "http://192.0.2.1:8080", insecure-skip-tls-verify: true, proxy-url: "http://proxy.example:3128" }', '{ token: t }'],
  ['tls-server-name', `{ ${SERVER}, tls-server-name: api.internal, certificate-authority: ${CA} }`, '{ token: t }'],
  ['insecure-skip-tls-verify', `{ ${SERVER}, insecure-skip-tls-verify: true }`, '{ token: t }'],
  ['http server with insecure-skip-tls-verify', '{ server: "http://192.0.2.1:8080", insecure-skip-tls-verify: true }', '{}'],
  ['basic auth and impersonation', `{ ${SERVER} }`, '{ username: admin, password: secret, as: system:kube-proxy }'],
  ['no credentials', `{ ${SERVER} }`, '{}'],
];

interface Seen {
  url: string;
  headers: Record<string, string>;
  tls: Record<string, string | boolean>;
  proxy: { kind: 'direct' | 'http-proxy' | 'socks'; uri?: string };
}

const tlsText = (o: Record<string, unknown>): Record<string, string | boolean> => {
  const out: Record<string, string | boolean> = {};
  for (const k of ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized']) {
    const v = o[k];
    if (v !== undefined && v !== null) out[k] = typeof v === 'boolean' ? v : Buffer.isBuffer(v) ? `buffer:${v.toString('utf8')}` : `string:${String(v)}`;
  }
  return out;
};

const PATH = '/api/v1/services?labelSelector=a%3Db';

/** client-node's private option mapping, which its own tests call too. */
interface ClientNodeInternals {
  applyOptions(opts: Record<string, unknown>): Promise<void>;
  createDispatcherOptions(cluster: clientNode.Cluster | null, agentOptions: Record<string, unknown>): { type: string; uri?: string };
}

async function viaClientNode(kc: clientNode.KubeConfig): Promise<Seen> {
  const cluster = kc.getCurrentCluster();
  const ctx = new clientNode.RequestContext(`${cluster?.server ?? ''}${PATH}`, clientNode.HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const opts: Record<string, unknown> = {};
  const k = kc as unknown as ClientNodeInternals;
  await k.applyOptions(opts);
  const tls = tlsText(opts);
  const dispatch = k.createDispatcherOptions(cluster, opts);
  const proxy = dispatch.type === 'socks' ? { kind: 'socks' as const, uri: dispatch.uri ?? '' }
    : dispatch.type === 'proxy' ? { kind: 'http-proxy' as const, uri: dispatch.uri ?? '' } : { kind: 'direct' as const };
  return { url: ctx.getUrl(), headers: ctx.getHeaders(), tls, proxy };
}

async function viaOurs(kc: KubeConfig): Promise<Seen> {
  const cluster = kc.getCurrentCluster();
  const ctx = new RequestContext(`${cluster?.server ?? ''}${PATH}`, HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const agent = ctx.getAgent();
  const name = agent?.constructor.name ?? '';
  const proxy = name === 'SocksProxyAgent' ? { kind: 'socks' as const, uri: ctx.proxyUrl ?? '' }
    : /ProxyAgent$/.test(name) ? { kind: 'http-proxy' as const, uri: ctx.proxyUrl ?? '' } : { kind: 'direct' as const };
  // The agent really carries the TLS settings (https.Agent keeps its construction options).
  if (proxy.kind === 'direct' && cluster?.server.startsWith('https:')) {
    expect(agent).toBeInstanceOf(HttpsAgent);
    expect(tlsText((agent as HttpsAgent & { options: Record<string, unknown> }).options)).toEqual(tlsText(ctx.tls as Record<string, unknown>));
  }
  if (proxy.kind === 'direct' && cluster?.server.startsWith('http:')) expect(agent).toBeInstanceOf(HttpAgent);
  return { url: ctx.getUrl(), headers: ctx.getHeaders(), tls: tlsText(ctx.tls as Record<string, unknown>), proxy };
}

describe('kube-config.ts against client-node KubeConfig (same kubeconfig, same request)', () => {
  it.each(CASES)('%s', async (_name, cluster, user) => {
    const path = file(`kc-${Math.random().toString(36).slice(2)}.yaml`, kubeconfig(cluster, user));
    const theirs = new clientNode.KubeConfig();
    theirs.loadFromFile(path);
    // Our port, loaded the same way client-node's loadFromFile does.
    const ours = new KubeConfig();
    ours.loadFromString(kubeconfig(cluster, user));
    ours.makePathsAbsolute(dir);
    const expected = await viaClientNode(theirs);
    expect(expected.url).toContain('/api/v1/services');
    expect(await viaOurs(ours)).toEqual(expected);
    // The daemon's loader (rate limit, token-file re-read; no --master) gives the same request.
    if (!/token-file/.test(user)) expect(await viaOurs(loadKubeConfig({ kubeconfig: path }))).toEqual(expected);
  });

  it('the cases exercise what they name (the comparison is not of two empty requests)', async () => {
    const seen = await Promise.all(CASES.map(async ([, cluster, user]) => {
      const theirs = new clientNode.KubeConfig();
      theirs.loadFromFile(file(`kc-${Math.random().toString(36).slice(2)}.yaml`, kubeconfig(cluster, user)));
      return viaClientNode(theirs);
    }));
    const byName = Object.fromEntries(CASES.map(([name], i) => [name, seen[i] as Seen]));
    expect(byName.token?.headers.Authorization).toBe('Bearer abc.def');
    expect(byName['token-file (read once, as is)']?.headers.Authorization).toBe('Bearer file-token');
    expect(byName['exec plugin with args and env']?.headers.Authorization).toBe('Bearer exec-one-two');
    expect(byName['exec plugin giving a client certificate']?.tls.key).toBe('string:exec-key');
    expect(byName['client certificate and key files, CA file']?.tls).toMatchObject({ ca: expect.stringContaining('ca-file'), cert: expect.stringContaining('client-file'), key: expect.stringContaining('key-file') });
    expect(byName['relative certificate paths']?.tls.cert).toContain('client-file');
    expect(byName['client certificate and key data, CA data']?.tls).toEqual({ ca: 'buffer:ca-data', cert: 'buffer:cert-data', key: 'buffer:key-data' });
    expect(byName['http proxy-url']?.proxy).toEqual({ kind: 'http-proxy', uri: 'http://proxy.example:3128' });
    expect(byName['socks5 proxy-url']?.proxy).toEqual({ kind: 'socks', uri: 'socks5://proxy.example:1080' });
    expect(byName['tls-server-name']?.tls.servername).toBe('string:api.internal');
    expect(byName['insecure-skip-tls-verify']?.tls.rejectUnauthorized).toBe(false);
    expect(byName['basic auth and impersonation']?.headers).toMatchObject({ Authorization: `Basic ${b64('admin:secret')}`, 'Impersonate-User': 'system:kube-proxy' });
  });

  it('in-cluster: the ServiceAccount token and CA, as client-node loadFromCluster reads them', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'kpt-kc-diff-sa-'));
    const saDir = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, 'token'), 'sa-token');
    writeFileSync(join(saDir, 'ca.crt'), 'sa-ca');
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    let expected: Seen;
    try {
      const theirs = new clientNode.KubeConfig();
      theirs.loadFromCluster(prefix);
      expected = await viaClientNode(theirs);
    } finally {
      process.env.KUBERNETES_SERVICE_HOST = saved.KUBERNETES_SERVICE_HOST;
      process.env.KUBERNETES_SERVICE_PORT = saved.KUBERNETES_SERVICE_PORT;
      if (saved.KUBERNETES_SERVICE_HOST === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      if (saved.KUBERNETES_SERVICE_PORT === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    }
    expect(expected.headers.Authorization).toBe('Bearer sa-token');
    expect(expected.tls.ca).toBe('buffer:sa-ca');
    expect(await viaOurs(loadKubeConfig({ env, serviceAccountDir: saDir }))).toEqual(expected);
  });
});
