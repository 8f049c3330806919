import { describe, expect, it } from 'vitest';
import { ManifestError } from '../errors.ts';
import { contentVersion, labelSelectorMatcher, parseManifest } from './manifest-parse.ts';
import { SERVICE_LABEL_SELECTOR } from './types.ts';

const svc = (name: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  clusterIP: 10.96.0.1\n`;

function fails(file: string, text: string): ManifestError {
  try {
    parseManifest(file, text);
  } catch (err) {
    if (err instanceof ManifestError) return err;
    throw err;
  }
  throw new Error('expected a ManifestError');
}

describe('parseManifest', () => {
  it('reads multi-document YAML with the line of each document and default namespace', () => {
    const out = parseManifest('/m/a.yaml', `${svc('a')}---\n${svc('b')}---\n`);
    expect(out.objects.map((o) => [o.key, o.line])).toEqual([['default/a', 1], ['default/b', 8]]);
    expect(out.objects[0]?.obj.metadata?.resourceVersion).toMatch(/^sha256-/);
  });

  it.each([
    ['kind: List', '{"kind":"List","items":[{"kind":"Service","metadata":{"name":"a","namespace":"x"}},{"kind":"ConfigMap","metadata":{"name":"c"}}]}'],
    ['typed ServiceList', '{"kind":"ServiceList","items":[{"metadata":{"name":"a","namespace":"x"}}]}'],
  ])('expands %s', (_label, json) => {
    const out = parseManifest('/m/l.json', json);
    expect(out.objects.map((o) => `${o.kind} ${o.key}`)).toEqual(['Service x/a']);
  });

  it('ignores other kinds and strips a Node namespace', () => {
    const out = parseManifest('/m/a.yml', 'kind: Deployment\nmetadata: {name: d}\n---\nkind: Node\nmetadata: {name: n1, namespace: oops}\n');
    expect(out.ignored).toEqual([{ kind: 'Deployment', name: 'd', line: 1 }]);
    expect(out.objects.map((o) => o.key)).toEqual(['n1']);
  });

  it('reads a ServiceCIDR as cluster-scoped (keyed by name, a namespace stripped)', () => {
    const out = parseManifest('/m/c.yaml', 'apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: {name: kubernetes, namespace: oops}\nspec: {cidrs: [10.96.0.0/16]}\n');
    expect(out.objects.map((o) => `${o.kind} ${o.key}`)).toEqual(['ServiceCIDR kubernetes']);
    expect(out.objects[0]?.obj.metadata?.namespace).toBeUndefined();
  });

  it('keeps a given resourceVersion and hashes content otherwise', () => {
    const given = parseManifest('/m/a.yaml', 'kind: Node\nmetadata: {name: n, resourceVersion: "7"}\n');
    expect(given.objects[0]?.obj.metadata?.resourceVersion).toBe('7');
    expect(contentVersion({ a: 1 })).toBe(contentVersion({ a: 1 }));
    expect(contentVersion({ a: 1 })).not.toBe(contentVersion({ a: 2 }));
  });

  it.each([
    ['bad YAML', '/m/bad.yaml', `${svc('a')}---\nkind: Service\nmetadata:\n  name: [unclosed\n`, 11],
    ['bad JSON', '/m/bad.json', '{\n  "kind": "Service",\n  "metadata": {\n}\n', 5],
    ['no name', '/m/n.yaml', `${svc('a')}---\nkind: Service\nmetadata: {}\n`, 8],
    ['no kind', '/m/k.yaml', 'metadata: {name: x}\n', 1],
    ['scalar document', '/m/s.yaml', 'just text\n', 1],
  ])('names file and line for %s', (_label, file, text, line) => {
    const err = fails(file, text);
    expect(err.code).toBe('KP_ERR_MANIFEST_INVALID');
    expect(err.file).toBe(file);
    expect(err.line).toBe(line);
    expect(err.message.startsWith(`${file}:${line}: `)).toBe(true);
  });
});

describe('labelSelectorMatcher', () => {
  it.each([
    [SERVICE_LABEL_SELECTOR, {}, true],
    [SERVICE_LABEL_SELECTOR, { 'service.kubernetes.io/headless': '' }, false],
    [SERVICE_LABEL_SELECTOR, { 'service.kubernetes.io/service-proxy-name': 'other' }, false],
    ['app', { app: 'x' }, true],
    ['app=x', { app: 'y' }, false],
    ['app==x', { app: 'x' }, true],
    ['app!=x', {}, true],
  ])('%s on %o is %s', (sel, labels, want) => {
    expect(labelSelectorMatcher(sel)(labels)).toBe(want);
  });
});
