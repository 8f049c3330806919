// The manifests in deploy/ as an operator applies them: every YAML parses, the DaemonSet has the
// shape kubeadm's kube-proxy has (plus probes and requests), names line up across objects, and the
// ConfigMap — base and each mode overlay — loads through the daemon's own config and kubeconfig
// loaders to the values upstream kube-proxy would run with.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { parseCommandLine } from '../src/cli/parse.ts';
import type { ParseOutcome } from '../src/cli/parse.ts';
import { defaultConfig } from '../src/config/defaults.ts';
import type { V1Node } from '@kubernetes/client-node';
import type { KubeConfig } from '../src/sources/kube-config.ts';
import { listPaged } from '../src/sources/api-list.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { TestApiServer } from './support/api-server.ts';

const DEPLOY = new URL('../deploy/', import.meta.url).pathname;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}
const read = (rel: string): string => readFileSync(join(DEPLOY, rel), 'utf8');
const doc = <T>(rel: string): T => parse(read(rel)) as T;

interface Meta { name: string; namespace?: string; labels?: Record<string, string> }
interface ConfigMap { kind: string; metadata: Meta; data: Record<string, string> }
interface Probe { httpGet: { path: string; port: number | string; host?: string } }
interface Container {
  name: string; image: string; command: string[]; args?: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  securityContext: { privileged?: boolean };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe: Probe; readinessProbe: Probe;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume { name: string; configMap?: { name: string }; hostPath?: { path: string; type?: string } }
interface DaemonSet {
  kind: string; metadata: Meta;
  spec: {
    selector: { matchLabels: Record<string, string> };
    updateStrategy: { type: string; rollingUpdate?: { maxUnavailable?: number | string } };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        priorityClassName: string; hostNetwork: boolean; serviceAccountName: string;
        nodeSelector?: Record<string, string>;
        tolerations: { operator?: string; key?: string; effect?: string }[];
        containers: Container[]; volumes: Volume[];
      };
    };
  };
}
interface Kustomization { resources: string[]; namespace?: string; patches?: { target: { kind: string; name: string }; path: string }[] }
interface PatchOp { op: string; path: string; value?: unknown }

const scratchDirs: string[] = [];
const scratch = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-deploy-'));
  scratchDirs.push(dir);
  return dir;
};
let server: TestApiServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Loads a config.conf the way the DaemonSet's command does: its own args, NODE_NAME substituted as the kubelet does. */
function loadAsDaemonSet(configText: string, nodeName = 'Node-A'): ParseOutcome {
  const dir = scratch();
  const file = join(dir, 'config.conf');
  writeFileSync(file, configText);
  const ds = doc<DaemonSet>('daemonset.yaml');
  const args = (ds.spec.template.spec.containers[0]?.command ?? []).slice(1).map((a) => a
    .replace('$(NODE_NAME)', nodeName)
    .replace('/var/lib/kube-proxy/config.conf', file));
  return parseCommandLine(args, { hostname: 'ignored-hostname' });
}

function runConfig(outcome: ParseOutcome): Extract<ParseOutcome, { kind: 'run' }>['config'] {
  if (outcome.kind !== 'run') throw new Error(`config did not load: ${JSON.stringify(outcome)}`);
  return outcome.config;
}

/** RFC 6902 `replace`/`add` on a JSON pointer: the only ops the overlays may use. */
function applyJson6902(target: unknown, ops: PatchOp[]): unknown {
  const out = structuredClone(target) as Record<string, unknown>;
  for (const op of ops) {
    if (op.op !== 'replace' && op.op !== 'add') throw new Error(`overlay uses unsupported op ${op.op}`);
    const keys = op.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`bad path ${op.path}`);
    let node: Record<string, unknown> = out;
    for (const k of keys) node = node[k] as Record<string, unknown>;
    if (op.op === 'replace' && !(last in node)) throw new Error(`replace of missing ${op.path}`);
    node[last] = op.value;
  }
  return out;
}

describe('deploy/ manifests', () => {
  it('every YAML file parses without errors or warnings', () => {
    const files = yamlFiles(DEPLOY);
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      for (const d of parseAllDocuments(readFileSync(f, 'utf8'))) {
        expect(d.errors, relative(DEPLOY, f)).toEqual([]);
        expect(d.warnings, relative(DEPLOY, f)).toEqual([]);
      }
    }
  });

  it('the kustomization lists every manifest in deploy/ and nothing missing; overlays build on it', () => {
    const k = doc<Kustomization>('kustomization.yaml');
    expect(k.namespace).toBe('kube-system');
    const top = readdirSync(DEPLOY).filter((n) => n.endsWith('.yaml') && n !== 'kustomization.yaml').sort();
    expect([...k.resources].sort()).toEqual(top);
    const cm = doc<ConfigMap>('configmap.yaml');
    for (const mode of ['ipvs', 'userspace']) {
      const o = doc<Kustomization>(`overlays/${mode}/kustomization.yaml`);
      expect(o.resources).toEqual(['../..']);
      expect(o.patches).toEqual([{ target: { kind: 'ConfigMap', name: cm.metadata.name }, path: 'config-patch.yaml' }]);
    }
  });

  describe('DaemonSet', () => {
    const ds = doc<DaemonSet>('daemonset.yaml');
    const pod = ds.spec.template.spec;
    const c = pod.containers[0] as Container;

    it('runs like kubeadm\'s kube-proxy: host network, node-critical, every taint tolerated, privileged', () => {
      expect(ds.kind).toBe('DaemonSet');
      expect(ds.metadata.namespace).toBe('kube-system');
      expect(pod.containers).toHaveLength(1);
      expect(pod.hostNetwork).toBe(true);
      expect(pod.priorityClassName).toBe('system-node-critical');
      expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
      expect(c.securityContext.privileged).toBe(true);
      expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
      expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    });

    it('pins the image to the package version (never `latest`, which IfNotPresent would never refresh)', () => {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      expect(c.image).toBe(`ghcr.io/kube-proxy-ts/kube-proxy-ts:v${pkg.version}`);
    });

    it('has kube-proxy\'s command line, with NODE_NAME from the downward API', () => {
      expect(c.command).toEqual(['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)']);
      expect(c.args).toBeUndefined();
      expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    });

    it('probes /livez (liveness) and /readyz (readiness: programmed) on the healthz port, and requests resources', () => {
      expect(c.livenessProbe.httpGet).toMatchObject({ path: '/livez', port: 10256 });
      expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 10256 });
      expect(c.resources.requests?.cpu).toMatch(/^\d+m?$/);
      expect(c.resources.requests?.memory).toMatch(/^\d+(Mi|Gi)$/);
      // No memory limit: an OOM-killed proxy leaves stale rules; upstream sets none either.
      expect(c.resources.limits?.memory).toBeUndefined();
    });

    it('mounts the config, the shared xtables lock read-write and /lib/modules read-only', () => {
      const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m]));
      const vol = (name: string | undefined): Volume | undefined => pod.volumes.find((v) => v.name === name);
      expect(vol(mounts['/var/lib/kube-proxy']?.name)?.configMap?.name).toBe(doc<ConfigMap>('configmap.yaml').metadata.name);
      expect(mounts['/run/xtables.lock']?.readOnly ?? false).toBe(false);
      expect(vol(mounts['/run/xtables.lock']?.name)?.hostPath).toEqual({ path: '/run/xtables.lock', type: 'FileOrCreate' });
      expect(mounts['/lib/modules']?.readOnly).toBe(true);
      expect(vol(mounts['/lib/modules']?.name)?.hostPath?.path).toBe('/lib/modules');
      expect(pod.volumes.map((v) => v.name).sort()).toEqual(c.volumeMounts.map((m) => m.name).sort());
    });

    it('runs as the ServiceAccount that the ClusterRoleBinding binds', () => {
      const sa = doc<{ metadata: Meta }>('serviceaccount.yaml');
      const binding = doc<{ subjects: { kind: string; name: string; namespace: string }[] }>('clusterrolebinding.yaml');
      expect(pod.serviceAccountName).toBe(sa.metadata.name);
      expect(binding.subjects).toContainEqual({ kind: 'ServiceAccount', name: sa.metadata.name, namespace: ds.metadata.namespace });
      expect(sa.metadata.namespace).toBe(ds.metadata.namespace);
    });
  });

  describe('ConfigMap config.conf', () => {
    const cm = doc<ConfigMap>('configmap.yaml');

    it('is kubeadm\'s layout (config.conf + kubeconfig.conf, zero values and nulls left for defaulting)', () => {
      expect(Object.keys(cm.data).sort()).toEqual(['config.conf', 'kubeconfig.conf']);
      const raw = parse(cm.data['config.conf'] ?? '') as Record<string, Record<string, unknown> | string | null>;
      // kubeadm v1.37 writes the mode explicitly (kubernetes#139777): left empty, v1.37 warns that the default changes.
      expect(raw).toMatchObject({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'iptables', healthzBindAddress: '' });
      expect(raw.conntrack).toMatchObject({ maxPerCore: null, min: null });
      expect(raw.iptables).toMatchObject({ masqueradeBit: null, syncPeriod: '0s', minSyncPeriod: '0s' });
    });

    it('loads through the daemon\'s own loader, with the DaemonSet\'s flags, to upstream\'s defaults', () => {
      const outcome = loadAsDaemonSet(cm.data['config.conf'] ?? '');
      const cfg = runConfig(outcome);
      if (outcome.kind === 'run') expect(outcome.warnings).toEqual([]);
      // Spelled out, so a wrong default in defaults.ts cannot hide behind the comparison below.
      expect(cfg.mode).toBe('iptables');
      expect(cfg.nodeName).toBe('node-a');
      expect(cfg.iptables).toMatchObject({ syncPeriodMs: 30_000, minSyncPeriodMs: 1000, masqueradeBit: 14, localhostNodePorts: true, masqueradeAll: false });
      expect(cfg.ipvs).toMatchObject({ syncPeriodMs: 30_000, scheduler: '' });
      expect(cfg.healthzBindAddress).toEqual({ host: '0.0.0.0', port: 10256 });
      expect(cfg.metricsBindAddress).toEqual({ host: '127.0.0.1', port: 10249 });
      expect(cfg.conntrack).toMatchObject({
        maxPerCore: 32768, min: 131072, tcpEstablishedTimeoutMs: 24 * 3600_000, tcpCloseWaitTimeoutMs: 3600_000, udpTimeoutMs: 0, udpStreamTimeoutMs: 0,
      });
      expect(cfg.clientConnection).toMatchObject({ kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf', qps: 5, burst: 10 });
      expect(cfg.configSyncPeriodMs).toBe(15 * 60_000);
      expect(cfg.oomScoreAdj).toBe(-999);
      expect(cfg.detectLocalMode).toBe('ClusterCIDR');
      expect(cfg.clusterCIDRs).toEqual(['10.244.0.0/16']);
      const d = defaultConfig();
      expect(cfg).toEqual({
        ...d,
        nodeName: 'node-a', hostnameOverride: 'node-a', clusterCIDRs: ['10.244.0.0/16'],
        clientConnection: { ...d.clientConnection, kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' },
        // kubeadm writes `logging.flushFrequency: 0` etc.; only what the config types hold is compared.
        logging: cfg.logging,
      });
    });

    it.each([['ipvs'], ['userspace']])('the %s overlay patches it into a config that loads with that mode', (mode) => {
      const ops = doc<PatchOp[]>(`overlays/${mode}/config-patch.yaml`);
      const patched = applyJson6902(cm, ops) as ConfigMap;
      expect(patched.data['kubeconfig.conf']).toBe(cm.data['kubeconfig.conf']);
      const cfg = runConfig(loadAsDaemonSet(patched.data['config.conf'] ?? ''));
      expect(cfg.mode).toBe(mode);
      expect(cfg.clusterCIDRs).toEqual(['10.244.0.0/16']);
      expect(cfg.clientConnection.kubeconfig).toBe('/var/lib/kube-proxy/kubeconfig.conf');
      expect(cfg.nodeName).toBe('node-a');
    });

    it('a broken config.conf is refused with one line naming the file and the field', () => {
      const bad = (cm.data['config.conf'] ?? '').replace('  masqueradeBit: null\n  minSyncPeriod', '  masqueradeBit: 40\n  minSyncPeriod');
      expect(bad).not.toBe(cm.data['config.conf']);
      const outcome = loadAsDaemonSet(bad);
      expect(outcome.kind).toBe('error');
      if (outcome.kind === 'error') expect(outcome.message).toMatch(/config\.conf: iptables\.masqueradeBit/);
    });
  });

  describe('ConfigMap kubeconfig.conf', () => {
    const cm = doc<ConfigMap>('configmap.yaml');
    const text = cm.data['kubeconfig.conf'] ?? '';
    const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

    it('is kubeadm\'s: one cluster with the ServiceAccount CA, a tokenFile user, namespace default', () => {
      const kc = parse(text) as {
        clusters: { cluster: Record<string, string> }[]; users: { user: Record<string, string> }[];
        contexts: { context: Record<string, string> }[];
      };
      expect(kc.clusters).toHaveLength(1);
      expect(kc.clusters[0]?.cluster['certificate-authority']).toBe(`${SA}/ca.crt`);
      expect(kc.users).toEqual([{ name: 'default', user: { tokenFile: `${SA}/token` } }]);
      expect(kc.contexts[0]?.context.namespace).toBe('default');
    });

    it('authenticates through loadKubeConfig with the token read from the tokenFile', async () => {
      const dir = scratch();
      writeFileSync(join(dir, 'token'), 'deploy-token\n');
      writeFileSync(join(dir, 'ca.crt'), '');
      const file = join(dir, 'kubeconfig.conf');
      writeFileSync(file, text.replaceAll(SA, dir));
      const srv = new TestApiServer({ token: 'deploy-token' });
      server = srv;
      await srv.start();
      srv.create('Node', { metadata: { name: 'node-a' } });
      // --master stands in for the control-plane endpoint (plain http to the test server).
      const client = createKubeClient(loadKubeConfig({ kubeconfig: file, master: srv.url }));
      const names: string[] = [];
      const list = (kc: KubeConfig): Promise<string> => listPaged<V1Node>(kc, '/api/v1/nodes', { fieldSelector: 'metadata.name=node-a' }, {
        page: (items) => names.push(...items.map((n) => n.metadata?.name ?? '')), restart: () => { names.length = 0; },
      });
      await list(client.kc);
      expect(names).toEqual(['node-a']);
      expect(srv.counters.unauthorized).toBe(0);

      writeFileSync(join(dir, 'wrong'), 'not-the-token');
      writeFileSync(file, text.replaceAll(SA, dir).replace(`${dir}/token`, `${dir}/wrong`));
      const wrong = createKubeClient(loadKubeConfig({ kubeconfig: file, master: srv.url }));
      await expect(list(wrong.kc)).rejects.toThrow(/HTTP 401/);
      expect(srv.counters.unauthorized).toBe(1);
    });
  });
});
