// The image's install step, without Docker: deploy/image/assemble.sh (what the Dockerfile runs)
// builds the runtime tree in a scratch directory with the real npm registry, and the tree is then
// checked the way the image will be used — runtime dependencies only, koffi's prebuilt binary
// present, the sources compiled to JavaScript, every module importable, `--version` naming the commit, and `--dry-run` printing the
// iptables payload as an unprivileged user.
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApiServer } from './support/api-server.ts';

const REPO = new URL('..', import.meta.url).pathname;
const NODE = process.execPath;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean; os?: string[]; cpu?: string[] }>;
};

let dest = '';
let assemble: SpawnSyncReturns<string>;

const run = (args: string[], opts: { asNobody?: boolean } = {}): SpawnSyncReturns<string> => {
  // Run as an unprivileged user when we are root, so "needs no root" is actually shown.
  const drop = opts.asNobody === true && process.getuid?.() === 0;
  const [cmd, argv] = drop
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', NODE, ...args]]
    : [NODE, args];
  return spawnSync(cmd, argv, { cwd: tmpdir(), encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
};

beforeAll(() => {
  const parent = mkdtempSync(join(tmpdir(), 'kpt-image-'));
  dest = join(parent, 'opt', 'kube-proxy-ts');
  assemble = spawnSync('bash', [join(REPO, 'deploy/image/assemble.sh'), REPO, dest, 'testcommit'], {
    encoding: 'utf8',
    timeout: 300_000,
    // npm runs on the pinned Node, as `npm ci` in the build stage runs on the image's Node 24.
    env: { ...process.env, PATH: `${dirname(NODE)}:${process.env.PATH ?? ''}` },
  });
  // The unprivileged run below must be able to read the tree and the manifests.
  cpSync(join(REPO, 'test/fixtures/manifests'), join(parent, 'manifests'), { recursive: true });
  for (const d of [parent, join(parent, 'opt')]) chmodSync(d, 0o755);
}, 320_000);

afterAll(() => {
  if (dest !== '') rmSync(dirname(dirname(dest)), { recursive: true, force: true });
});

const installed = (name: string): boolean => existsSync(join(dest, 'node_modules', name, 'package.json'));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

/** kube-proxy's chain-name hash (pkg/proxy/iptables/proxier.go portProtoHash): base32(sha256(…))[:16]. */
function chainHash(text: string): string {
  const bytes = createHash('sha256').update(text).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i + 5 <= bits.length && out.length < 16; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

describe('deploy/image/assemble.sh', () => {
  it('assembles the runtime tree and records the commit', () => {
    expect(assemble.error).toBeUndefined();
    expect(assemble.status, assemble.stderr).toBe(0);
    expect(assemble.stdout).toContain('assembled kube-proxy-ts testcommit');
    expect(readFileSync(join(dest, 'COMMIT'), 'utf8')).toBe('testcommit\n');
  });

  it('installs the runtime dependencies and none of the dev dependencies', () => {
    for (const name of ['typescript', 'vitest', 'eslint', 'node', 'prettier', 'tsx', 'fast-check', 'typescript-eslint']) {
      expect(pkg.devDependencies[name], `${name} is a devDependency`).toBeDefined();
      expect(installed(name), `${name} must not be in the image`).toBe(false);
    }
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const dev = entries.filter(([, p]) => p.dev === true);
    const runtime = entries.filter(([, p]) => p.dev !== true && p.optional !== true && p.devOptional !== true);
    expect(dev.length).toBeGreaterThan(0);
    expect(runtime.length).toBeGreaterThan(0);
    for (const [path] of dev) expect(existsSync(join(dest, path)), `${path} (dev) must not be in the image`).toBe(false);
    for (const [path] of runtime) expect(existsSync(join(dest, path, 'package.json')), `${path} (runtime) missing`).toBe(true);
    expect(existsSync(join(dest, 'node_modules/.bin/node')), 'no pinned dev Node').toBe(false);
  });

  it('has koffi with the prebuilt binary for this platform (an optional dependency: never --omit=optional)', () => {
    expect(installed('koffi')).toBe(true);
    const platformPkg = `@koromix/koffi-${process.platform}-${process.arch}`;
    expect(lock.packages[`node_modules/${platformPkg}`]?.optional).toBe(true);
    expect(installed(platformPkg), platformPkg).toBe(true);
    const binaries = filesUnder(join(dest, 'node_modules', platformPkg)).filter((f) => f.endsWith('.node'));
    expect(binaries.length).toBeGreaterThan(0);
  });

  it('ships the sources compiled to JavaScript, with no TypeScript (no type stripping at run time) and no tests', () => {
    const files = [...filesUnder(join(dest, 'src')), ...filesUnder(join(dest, 'native'))];
    expect(files.filter((f) => f.endsWith('.js')).length).toBeGreaterThan(50);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => /\.test\.js$|\.test-support\.js$|(^|\/)testing\/|(^|\/)testdata\//.test(f))).toEqual([]);
    expect(existsSync(join(dest, 'src/main.js'))).toBe(true);
    // Every module the relay worker and the lazy imports name is there under its .js name.
    expect(existsSync(join(dest, 'src/backends/userspace/io/relay-worker.js'))).toBe(true);
    expect(readFileSync(join(dest, 'src/main.js'), 'utf8')).not.toMatch(/from '\.[^']*\.ts'|import\('\.[^']*\.ts'\)/);
    expect(existsSync(join(dest, 'bin/kube-proxy-ts.js'))).toBe(true);
  });

  it('ships no test-only module: every module is reached from the entry points (main, the relay worker)', () => {
    // A tracer, fake clock or fixture is imported by tests alone, so nothing the daemon loads
    // reaches it; wherever it sits, it must not be in the image. Type-only modules compile to an
    // empty `export {};` and are never imported at run time.
    const files = filesUnder(dest).filter((f) => /^(src|native)\/.*\.js$/.test(f));
    const reached = new Set<string>();
    const queue = ['src/main.js', 'src/backends/userspace/io/relay-worker.js'];
    const imports = /(?:from\s*|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+\.js)['"]/g;
    for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
      if (reached.has(f)) continue;
      reached.add(f);
      for (const m of readFileSync(join(dest, f), 'utf8').matchAll(imports)) queue.push(join(dirname(f), m[1] ?? ''));
    }
    const typeOnly = (f: string): boolean => readFileSync(join(dest, f), 'utf8').replace(/\/\/.*$/gm, '').trim() === 'export {};';
    expect(files.filter((f) => !reached.has(f) && !typeOnly(f))).toEqual([]);
  });

  it('every shipped module imports with the runtime dependencies alone (koffi loads its binary)', () => {
    const script = `
      import { readdirSync } from 'node:fs';
      const root = process.argv[1];
      const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /^(src|native)\\/.*\\.js$/.test(f));
      const failed = [];
      for (const f of files) {
        try { await import(root + '/' + f); } catch (err) { failed.push(f + ': ' + String(err).split('\\n')[0]); }
      }
      const koffi = import.meta.resolve('koffi', 'file://' + root + '/src/');
      console.log(JSON.stringify({ count: files.length, failed, koffi }));`;
    const r = spawnSync(NODE, ['--input-type=module', '-e', script, dest], { cwd: dest, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { count: number; failed: string[]; koffi: string };
    expect(out.failed).toEqual([]);
    expect(out.count).toBeGreaterThan(50);
    expect(out.koffi.startsWith(`file://${dest}/node_modules/`), out.koffi).toBe(true);
  });

  it('ships neither client-node nor undici: the API client is our own on node:http(s) (issue 14, ~40 MiB of idle RSS)', () => {
    expect(installed('@kubernetes/client-node'), 'client-node is a test oracle only').toBe(false);
    expect(installed('undici')).toBe(false);
    const importers = filesUnder(join(dest, 'src')).filter((f) => f.endsWith('.js'))
      .filter((f) => /['"](@kubernetes\/client-node|undici)['"]/.test(readFileSync(join(dest, 'src', f), 'utf8').replace(/^\s*\/\/.*$/gm, '')));
    expect(importers).toEqual([]);
  });

  it('the shipped API client lists and watches through the real ApiSource (kubeconfig file, bearer token)', async () => {
    const server = new TestApiServer({ token: 'image-token' });
    await server.start();
    try {
      server.create('Node', { metadata: { name: 'node-a' } });
      server.create('Service', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] } });
      server.create('ServiceCIDR', { metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16'] } });
      const kubeconfig = join(dirname(dirname(dest)), 'kubeconfig');
      writeFileSync(kubeconfig, [
        'apiVersion: v1', 'kind: Config', `clusters: [{ name: c, cluster: { server: "${server.url}" } }]`,
        'users: [{ name: u, user: { token: image-token } }]', 'contexts: [{ name: x, context: { cluster: c, user: u } }]', 'current-context: x', '',
      ].join('\n'));
      const script = `
        const root = process.argv[1];
        const { ApiSource } = await import(root + '/src/sources/api-source.js');
        const { createKubeClient } = await import(root + '/src/sources/kube-client.js');
        const { loadKubeConfig } = await import(root + '/src/sources/kubeconfig.js');
        const seen = {}; const synced = new Set();
        const sink = {
          upsert: (k, o) => { (seen[k] ??= new Set()).add(o.metadata.name); },
          remove: () => {}, replace: () => {}, retain: () => {}, synced: (k) => synced.add(k),
        };
        const log = { child: () => log, trace() {}, debug() {}, info() {}, warn() {}, error(o, m) { console.error(m, o); }, fatal() {} };
        const src = new ApiSource({ client: createKubeClient(loadKubeConfig({ kubeconfig: process.argv[2] })), nodeName: 'node-a', log });
        await src.start(sink);
        for (let i = 0; i < 100 && synced.size < 4; i++) await new Promise((r) => setTimeout(r, 50));
        await src.stop();
        console.log(JSON.stringify({ synced: [...synced].sort(), seen: Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, [...v]])) }));
        process.exit(0);`;
      const child = spawn(NODE, ['--input-type=module', '-e', script, dest, kubeconfig], { cwd: dest, env: { ...process.env, NODE_OPTIONS: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
      child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code, stderr).toBe(0);
      const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { synced: string[]; seen: Record<string, string[]> };
      expect(out.synced).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']);
      expect(out.seen).toEqual({ Node: ['node-a'], Service: ['web'], ServiceCIDR: ['kubernetes'] });
      expect(server.counters.unauthorized).toBe(0);
      expect(server.counters.watches.Service).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });

  it('--version prints the package version and the assembled commit', () => {
    const r = run([join(dest, 'bin/kube-proxy-ts.js'), '--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`v${pkg.version}`);
    expect(r.stdout).toContain('testcommit');
  });

  it('--dry-run --manifests prints the iptables payload and exits 0, without root', () => {
    const manifests = join(dirname(dirname(dest)), 'manifests');
    const r = run([join(dest, 'bin/kube-proxy-ts.js'), '--manifests', manifests, '--hostname-override', 'node-a', '--dry-run'], { asNobody: true });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const svc = `KUBE-SVC-${chainHash('default/web:httptcp')}`;
    const sep = `KUBE-SEP-${chainHash('default/web:httptcp10.244.1.5:8080')}`;
    expect(r.stdout).toContain('*nat');
    expect(r.stdout).toContain('COMMIT');
    expect(r.stdout).toContain(`-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j ${svc}`);
    expect(r.stdout).toContain(`-A ${svc} -m comment --comment "default/web:http -> 10.244.1.5:8080" -j ${sep}`);
    expect(r.stdout).toContain(`-A ${sep} -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080`);
  });
});
