// The manifests directory as a live source: writes, atomic renames and deletes reach the sink
// before a 1 s deadline; a broken file is reported once (file and line) and keeps its last good
// content; and the same objects served by the test API server give the same sink state.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { ManifestSource } from '../src/sources/manifest-source.ts';
import type { ClusterSource, ObjectKind } from '../src/sources/types.ts';
import { TestApiServer } from './support/api-server.ts';
import type { KubeObject } from './support/api-server.ts';
import { RecordingSink, eventually, recordingLogger } from './support/api-server-sink.ts';

const svcYaml = (name: string, ip = '10.96.0.10', labels = '{}') =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: default\n  labels: ${labels}\nspec:\n  clusterIP: ${ip}\n`;

const sources: ClusterSource[] = [];
let server: TestApiServer | undefined;
afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
  await server?.stop();
  server = undefined;
});

async function boot(files: Record<string, string>, nodeName?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-manifests-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const log = recordingLogger();
  const sink = new RecordingSink();
  const src = new ManifestSource({ dir, log, debounceMs: 100, rescanMs: 60_000, ...(nodeName ? { nodeName } : {}) });
  sources.push(src);
  await src.start(sink);
  return { dir, log, sink, src };
}

const clusterIP = (sink: RecordingSink, key: string) =>
  (sink.state.Service.get(key) as { spec?: { clusterIP?: string } } | undefined)?.spec?.clusterIP;

describe('ManifestSource', () => {
  it('delivers the initial state, filtered by the service label selector, then synced', async () => {
    const { sink } = await boot({ 'a.yaml': `${svcYaml('a')}---\n${svcYaml('h', '10.96.0.2', '{service.kubernetes.io/headless: ""}')}`, 'note.txt': 'x' });
    expect([...sink.state.Service.keys()]).toEqual(['default/a']);
    expect([...sink.synced_].sort()).toEqual(['EndpointSlice', 'Node', 'Service', 'ServiceCIDR']);
  });

  it('applies a write, an atomic rename and a delete within one second each', async () => {
    const { dir, sink } = await boot({ 'a.yaml': svcYaml('a') });
    writeFileSync(join(dir, 'a.yaml'), svcYaml('a', '10.96.0.11'));
    await eventually(() => expect(clusterIP(sink, 'default/a')).toBe('10.96.0.11'), 1000);
    writeFileSync(join(dir, '.b.yaml.tmp'), svcYaml('b'));
    renameSync(join(dir, '.b.yaml.tmp'), join(dir, 'b.yaml'));
    await eventually(() => expect(sink.state.Service.has('default/b')).toBe(true), 1000);
    writeFileSync(join(dir, '.a.tmp'), svcYaml('a', '10.96.0.12'));
    renameSync(join(dir, '.a.tmp'), join(dir, 'a.yaml'));
    await eventually(() => expect(clusterIP(sink, 'default/a')).toBe('10.96.0.12'), 1000);
    rmSync(join(dir, 'b.yaml'));
    await eventually(() => expect(sink.state.Service.has('default/b')).toBe(false), 1000);
    expect(sink.calls).toContain('remove Service default/b');
  });

  it('keeps the last good content of a malformed file, reports it once with file and line', async () => {
    const { dir, sink, log, src } = await boot({ 'a.yaml': svcYaml('a'), 'b.yaml': svcYaml('b') });
    const bad = `${svcYaml('a', '10.96.0.99')}---\nkind: Service\nmetadata:\n  name: [oops\n`;
    writeFileSync(join(dir, 'a.yaml'), bad);
    writeFileSync(join(dir, 'b.yaml'), svcYaml('b', '10.96.0.22'));
    await eventually(() => expect(clusterIP(sink, 'default/b')).toBe('10.96.0.22'), 1000);
    await eventually(() => expect(log.records.filter((r) => r.msg.startsWith('manifest invalid'))).toHaveLength(1), 1000);
    const rec = log.records.find((r) => r.msg.startsWith('manifest invalid'));
    expect(rec?.obj).toMatchObject({ file: join(dir, 'a.yaml'), line: 13 });
    expect(String(rec?.obj.err)).toContain(`${join(dir, 'a.yaml')}:13`);
    expect(clusterIP(sink, 'default/a')).toBe('10.96.0.10');
    writeFileSync(join(dir, 'b.yaml'), svcYaml('b', '10.96.0.23'));
    await eventually(() => expect(clusterIP(sink, 'default/b')).toBe('10.96.0.23'), 1000);
    expect(log.records.filter((r) => r.msg.startsWith('manifest invalid'))).toHaveLength(1);
    expect(src.stats.invalidFiles).toBe(1);
    writeFileSync(join(dir, 'a.yaml'), svcYaml('a', '10.96.0.13'));
    await eventually(() => expect(clusterIP(sink, 'default/a')).toBe('10.96.0.13'), 1000);
  });

  it('reads List, typed lists, multi-doc YAML and JSON; the last file wins a duplicate with a warning', async () => {
    const list = JSON.stringify({ kind: 'List', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'j', namespace: 'default' }, spec: { clusterIP: '10.96.0.5' } }] });
    const { sink, log } = await boot({
      'a.json': list,
      'b.yml': `kind: EndpointSliceList\nitems:\n- metadata: {name: j-1, namespace: default}\n  addressType: IPv4\n  endpoints: []\n---\n${svcYaml('j', '10.96.0.6')}`,
    });
    expect(clusterIP(sink, 'default/j')).toBe('10.96.0.6');
    expect([...sink.state.EndpointSlice.keys()]).toEqual(['default/j-1']);
    expect(log.records.find((r) => r.msg === 'object defined in more than one manifest')?.obj).toMatchObject({ key: 'default/j' });
  });

  it('gives the same sink state as the API server serving the same objects', async () => {
    const objects: [ObjectKind, KubeObject][] = [
      ['Service', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }] } }],
      ['Service', { metadata: { name: 'hl', namespace: 'default', labels: { 'service.kubernetes.io/headless': '' } }, spec: { clusterIP: 'None' } }],
      ['EndpointSlice', { metadata: { name: 'web-1', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.1'] }] }],
      ['Node', { metadata: { name: 'node-a', labels: { zone: 'z1' } } }],
      ['Node', { metadata: { name: 'node-b' } }],
      ['ServiceCIDR', { metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16', 'fd00:10:96::/112'] } }],
    ];
    server = new TestApiServer();
    await server.start();
    const stored = objects.map(([kind, obj]) => server?.create(kind, obj) as KubeObject);
    const apiSink = new RecordingSink();
    const api = new ApiSource({ client: createKubeClient(loadKubeConfig({ master: server.url })), nodeName: 'node-a', log: recordingLogger() });
    sources.push(api);
    await api.start(apiSink);
    await eventually(() => expect(apiSink.synced_.size).toBe(4), 5000);
    // The manifests hold what the server stores (its resourceVersions included).
    const { sink } = await boot({ 'all.json': JSON.stringify({ kind: 'List', items: stored }) }, 'node-a');
    for (const kind of ['Service', 'EndpointSlice', 'Node', 'ServiceCIDR'] as const) {
      expect(Object.fromEntries(sink.state[kind]), kind).toEqual(Object.fromEntries(apiSink.state[kind]));
    }
    expect(sink.state.Service.size).toBe(1);
    expect([...sink.state.ServiceCIDR.keys()]).toEqual(['kubernetes']);
  });
});
