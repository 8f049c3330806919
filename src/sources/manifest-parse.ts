// Turn one manifest file's text into the objects kube-proxy reads: YAML (multi-document) or JSON,
// `kind: List` and typed lists (`ServiceList` …) expanded, kinds other than Service, EndpointSlice,
// Node and ServiceCIDR reported as ignored. Any problem is one ManifestError naming the file and line. No I/O.
import { createHash } from 'node:crypto';
import { LineCounter, parseAllDocuments } from 'yaml';
import { ManifestError } from '../errors.ts';
import type { KindMap, ObjectKind } from './types.ts';

export interface ManifestObject {
  kind: ObjectKind;
  /** `namespace/name`, or `name` for the cluster-scoped Nodes and ServiceCIDRs. */
  key: string;
  obj: KindMap[ObjectKind];
  /** 1-based line of the document (or list) the object came from. */
  line: number;
}

export interface ParsedManifest {
  objects: ManifestObject[];
  ignored: { kind: string; name: string; line: number }[];
}

const KINDS: readonly ObjectKind[] = ['Service', 'EndpointSlice', 'Node', 'ServiceCIDR'];
const CLUSTER_SCOPED: readonly ObjectKind[] = ['Node', 'ServiceCIDR'];

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Documents with the line each starts on. */
function documents(file: string, text: string): { value: unknown; line: number }[] {
  if (file.endsWith('.json')) {
    try {
      return [{ value: JSON.parse(text) as unknown, line: 1 }];
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      const line = /line (\d+)/.exec(msg)?.[1];
      const pos = /position (\d+)/.exec(msg)?.[1];
      const at = line !== undefined ? Number(line) : pos !== undefined ? text.slice(0, Number(pos)).split('\n').length : 0;
      throw new ManifestError(file, at, `invalid JSON: ${msg}`, { cause: err });
    }
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const out: { value: unknown; line: number }[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0].line ?? lineCounter.linePos(err.pos[0]).line;
      throw new ManifestError(file, line, `invalid YAML: ${(err.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`, { cause: err });
    }
    const start = doc.contents?.range[0] ?? doc.range[0];
    out.push({ value: doc.toJS() as unknown, line: lineCounter.linePos(start).line });
  }
  return out;
}

/** A stable synthetic resourceVersion for objects written by hand, so edits are seen as changes. */
export function contentVersion(obj: unknown): string {
  return `sha256-${createHash('sha256').update(JSON.stringify(obj)).digest('hex').slice(0, 16)}`;
}

function toObject(file: string, line: number, raw: unknown, out: ParsedManifest): void {
  if (raw === null || raw === undefined) return; // empty document (`---` at the end)
  if (!isObject(raw)) throw new ManifestError(file, line, 'document is not a mapping');
  const kind = raw.kind;
  if (typeof kind !== 'string') throw new ManifestError(file, line, 'object without kind');
  if ((kind === 'List' || kind.endsWith('List')) && Array.isArray(raw.items)) {
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    for (const item of raw.items as unknown[]) {
      toObject(file, line, isObject(item) && item.kind === undefined && itemKind ? { ...item, kind: itemKind } : item, out);
    }
    return;
  }
  const meta = raw.metadata;
  const name = isObject(meta) ? meta.name : undefined;
  if (!KINDS.includes(kind as ObjectKind)) {
    out.ignored.push({ kind, name: typeof name === 'string' ? name : '', line });
    return;
  }
  if (!isObject(meta) || typeof name !== 'string' || name === '') {
    throw new ManifestError(file, line, `${kind} without metadata.name`);
  }
  const metadata: Raw = { ...meta };
  const clusterScoped = CLUSTER_SCOPED.includes(kind as ObjectKind);
  if (clusterScoped) delete metadata.namespace;
  else if (typeof metadata.namespace !== 'string' || metadata.namespace === '') metadata.namespace = 'default'; // as kubectl apply
  if (typeof metadata.resourceVersion !== 'string' || metadata.resourceVersion === '') {
    metadata.resourceVersion = contentVersion({ ...raw, metadata });
  }
  const obj = { ...raw, metadata } as unknown as KindMap[ObjectKind];
  const key = clusterScoped ? name : `${metadata.namespace as string}/${name}`;
  out.objects.push({ kind: kind as ObjectKind, key, obj, line });
}

/** Parse one file. Throws ManifestError (file, line, reason) for the first problem found. */
export function parseManifest(file: string, text: string): ParsedManifest {
  const out: ParsedManifest = { objects: [], ignored: [] };
  for (const doc of documents(file, text)) toObject(file, doc.line, doc.value, out);
  return out;
}

/**
 * A label selector in kube-proxy's forms (`key`, `!key`, `key=value`, `key==value`, `key!=value`),
 * applied to manifests so they see what the informers' server-side selector would let through.
 */
export function labelSelectorMatcher(selector: string): (labels: Record<string, string> | undefined) => boolean {
  const tests = selector.split(',').map((t) => t.trim()).filter((t) => t !== '').map((term) => {
    const ne = term.indexOf('!=');
    if (ne > 0) return (l: Record<string, string>) => l[term.slice(0, ne)] !== term.slice(ne + 2);
    const eq = term.indexOf('=');
    if (eq > 0) {
      const value = term.slice(term[eq + 1] === '=' ? eq + 2 : eq + 1);
      return (l: Record<string, string>) => l[term.slice(0, eq)] === value;
    }
    if (term.startsWith('!')) return (l: Record<string, string>) => !Object.hasOwn(l, term.slice(1));
    return (l: Record<string, string>) => Object.hasOwn(l, term);
  });
  return (labels) => tests.every((t) => t(labels ?? {}));
}
