import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KubeProxyError } from '../errors.ts';
import { TOKEN_FILE_PROVIDER, TokenFileAuthenticator, loadKubeConfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'kpt-kubeconfig-'));

function kubeconfig(user: string, server = 'https://192.0.2.1:6443'): string {
  const path = join(dir, `kc-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
- name: u
  user: ${user}
contexts:
- name: ctx
  context: { cluster: c, user: u }
current-context: ctx
`);
  return path;
}

async function authHeader(path: string): Promise<unknown> {
  const kc = loadKubeConfig({ kubeconfig: path });
  const opts: { headers?: Record<string, unknown> } = {};
  await kc.applyToHTTPSOptions(opts);
  return opts.headers?.Authorization;
}

describe('loadKubeConfig', () => {
  it.each([
    ['tokenFile (kubeadm)', 'tokenFile'],
    ['token-file', 'token-file'],
  ])('sends the bearer token from a %s user key', async (_label, key) => {
    writeFileSync(join(dir, 'token'), 'abc123\n');
    expect(await authHeader(kubeconfig(`{ ${key}: token }`))).toBe('Bearer abc123');
  });

  it('keeps an inline token', async () => {
    expect(await authHeader(kubeconfig('{ token: inline }'))).toBe('Bearer inline');
  });

  it('re-reads a rotated token file after a minute', async () => {
    let now = 0;
    const auth = new TokenFileAuthenticator(() => now);
    const file = join(dir, 'rotating');
    writeFileSync(file, 'one');
    const user = { name: 'u', authProvider: { name: TOKEN_FILE_PROVIDER, config: { path: file } } };
    const opts: { headers?: Record<string, unknown> } = {};
    await auth.applyAuthentication(user, opts);
    writeFileSync(file, 'two');
    await auth.applyAuthentication(user, opts);
    expect(opts.headers?.Authorization).toBe('Bearer one');
    now = 61_000;
    await auth.applyAuthentication(user, opts);
    expect(opts.headers?.Authorization).toBe('Bearer two');
  });

  it('reads the token file again at once after a 401 reset, before the minute is up', async () => {
    const file = join(dir, 'rejected');
    writeFileSync(file, 'old');
    const kc = loadKubeConfig({ kubeconfig: kubeconfig(`{ tokenFile: rejected }`), now: () => 0 });
    const header = async (): Promise<unknown> => {
      const opts: { headers?: Record<string, unknown> } = {};
      await kc.applyToHTTPSOptions(opts);
      return opts.headers?.Authorization;
    };
    expect(await header()).toBe('Bearer old');
    writeFileSync(file, 'new');
    expect(await header()).toBe('Bearer old');
    kc.tokenRejected();
    expect(await header()).toBe('Bearer new');
  });

  it('lets --master override the server and allows plain http', () => {
    const kc = loadKubeConfig({ kubeconfig: kubeconfig('{ token: t }'), master: 'http://127.0.0.1:8080' });
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'http://127.0.0.1:8080', skipTLSVerify: true });
    const bare = loadKubeConfig({ master: 'http://127.0.0.1:9' });
    expect(bare.getCurrentCluster()?.server).toBe('http://127.0.0.1:9');
  });

  it('builds in-cluster config from the environment with the rotating token provider', () => {
    const kc = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://[fd00::1]:443', caFile: join(dir, 'ca.crt') });
    expect(kc.getCurrentUser()?.authProvider).toEqual({ name: TOKEN_FILE_PROVIDER, config: { path: join(dir, 'token') } });
  });

  it.each([
    ['no config at all', {}],
    ['a missing kubeconfig', { kubeconfig: join(dir, 'nope.yaml') }],
  ])('fails with KP_ERR_KUBECONFIG for %s', (_label, opts) => {
    let caught: unknown;
    try { loadKubeConfig({ env: {}, ...opts }); } catch (err) { caught = err; }
    expect(KubeProxyError.is(caught) && caught.code).toBe('KP_ERR_KUBECONFIG');
  });
});
