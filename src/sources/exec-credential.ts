// kubeconfig exec credential plugins (client.authentication.k8s.io ExecCredential), as client-node
// 2.0.1's ExecAuth runs them (exec_auth.js): the command with its args and extra env, its stdout
// parsed as an ExecCredential, cached per user until status.expirationTimestamp; status.token
// becomes the bearer token, clientCertificateData/clientKeyData the client certificate.
import { spawn } from 'node:child_process';
import type { AuthOptions, Authenticator, User } from './kube-config.ts';

export interface ExecConfig {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[];
}

interface ExecCredential {
  status: { token?: string; clientCertificateData?: string; clientKeyData?: string; expirationTimestamp?: string };
}

export class ExecAuth implements Authenticator {
  readonly #cache = new Map<string, ExecCredential>();

  isAuthProvider(user: User): boolean {
    if (user.exec) return true;
    const provider = user.authProvider;
    if (!provider) return false;
    return provider.name === 'exec' || Boolean(provider.config?.exec);
  }

  async applyAuthentication(user: User, opts: AuthOptions): Promise<void> {
    const credential = await this.#credential(user);
    if (!credential) return;
    if (credential.status.clientCertificateData) opts.cert = credential.status.clientCertificateData;
    if (credential.status.clientKeyData) opts.key = credential.status.clientKeyData;
    if (credential.status.token) (opts.headers ??= {}).Authorization = `Bearer ${credential.status.token}`;
  }

  async #credential(user: User): Promise<ExecCredential | null> {
    const cached = this.#cache.get(user.name);
    if (cached) {
      const expires = cached.status.expirationTimestamp;
      if (!expires || Date.parse(expires) > Date.now()) return cached;
      this.#cache.delete(user.name);
    }
    const exec = user.exec ?? (user.authProvider?.config?.exec as ExecConfig | undefined) ?? null;
    if (!exec) return null;
    if (!exec.command) throw new Error('No command was specified for exec authProvider!');
    const env = exec.env ? { ...process.env, ...Object.fromEntries(exec.env.map((e) => [e.name, e.value])) } : process.env;
    const command = exec.command;
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let failed: Error | undefined;
      const child = spawn(command, exec.args ?? [], { env });
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.on('error', (err) => { failed = err; });
      child.on('close', (code) => {
        if (failed) return reject(failed);
        if (code !== 0) return reject(new Error(stderr));
        try {
          const credential = JSON.parse(stdout) as ExecCredential;
          this.#cache.set(user.name, credential);
          resolve(credential);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  }
}
