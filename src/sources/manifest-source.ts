// The manifests-directory ClusterSource (`--manifests DIR`): the same state as the informers, read
// from *.yaml/*.yml/*.json files. fs.watch on the directory triggers a debounced rescan; a periodic
// rescan backs it up (fs.watch misses events on some filesystems: NFS, overlay, bind mounts). A bad
// file is reported once and its last good content kept, so one typo never drops other objects.
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import { labelSelectorMatcher, parseManifest } from './manifest-parse.ts';
import type { ManifestObject } from './manifest-parse.ts';
import { SERVICE_LABEL_SELECTOR } from './types.ts';
import type { ClusterSource, ClusterStateSink, KindMap, ObjectKind } from './types.ts';

export interface ManifestSourceOptions {
  dir: string;
  log: Logger;
  /** Only this Node is delivered, as the informer's field selector does; all Nodes when unset. */
  nodeName?: string;
  debounceMs?: number;
  rescanMs?: number;
}

export interface ManifestStats { scans: number; invalidFiles: number; objects: number }

/** A file's content is known by its digest: holding every file's text cost its size again (10k files). */
interface FileState { digest: string; objects: ManifestObject[]; reported?: string }

const EXTENSIONS = ['.yaml', '.yml', '.json'];
const KINDS: readonly ObjectKind[] = ['Service', 'EndpointSlice', 'Node', 'ServiceCIDR'];
const byKind = <T>(): Record<ObjectKind, Map<string, T>> => ({ Service: new Map(), EndpointSlice: new Map(), Node: new Map(), ServiceCIDR: new Map() });

export class ManifestSource implements ClusterSource {
  readonly stats: ManifestStats = { scans: 0, invalidFiles: 0, objects: 0 };
  private readonly opts: ManifestSourceOptions;
  private readonly files = new Map<string, FileState>();
  private delivered: Record<ObjectKind, Map<string, string>> | undefined;
  private readonly warnedDuplicates = new Set<string>();
  private readonly selects = labelSelectorMatcher(SERVICE_LABEL_SELECTOR);
  private sink: ClusterStateSink | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private rescan: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rerun = false;
  private stopped = false;

  constructor(opts: ManifestSourceOptions) {
    this.opts = opts;
  }

  /** Reads the directory, delivers `replace` + `synced` for every kind, then watches it. */
  async start(sink: ClusterStateSink): Promise<void> {
    this.sink = sink;
    const st = await stat(this.opts.dir).catch((err: unknown) => {
      throw new ManifestError(this.opts.dir, 0, 'manifests directory unreadable', { cause: err });
    });
    if (!st.isDirectory()) throw new ManifestError(this.opts.dir, 0, 'not a directory');
    this.watcher = watch(this.opts.dir, { persistent: false }, () => this.schedule());
    this.watcher.on('error', (err) => this.opts.log.warn({ dir: this.opts.dir, err }, 'manifests watch failed; periodic rescan continues'));
    await this.scan();
    this.rescan = setInterval(() => this.schedule(), this.opts.rescanMs ?? 2000);
    this.rescan.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.rescan);
    await this.scanning;
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.scan().catch((err: unknown) => this.opts.log.error({ dir: this.opts.dir, err }, 'manifests scan failed'));
    }, this.opts.debounceMs ?? 100);
  }

  /** One scan at a time; a request during a scan runs one more afterwards. */
  private async scan(): Promise<void> {
    if (this.scanning) {
      this.rerun = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rerun = false;
        await this.scanOnce();
      } while (this.rerun && !this.stopped);
    })().finally(() => { this.scanning = undefined; });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    this.stats.scans++;
    const names = (await readdir(this.opts.dir)).filter((n) => !n.startsWith('.') && EXTENSIONS.some((e) => n.endsWith(e))).sort();
    for (const gone of [...this.files.keys()].filter((f) => !names.includes(f))) this.files.delete(gone);
    for (const name of names) await this.readOne(name);
    if (!this.stopped) this.deliver();
  }

  private async readOne(name: string): Promise<void> {
    const path = join(this.opts.dir, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      // Deleted or renamed away between readdir and read: the next scan settles it.
      this.opts.log.debug({ file: path, err }, 'manifest vanished while reading');
      return;
    }
    const prev = this.files.get(name);
    const digest = createHash('sha256').update(text).digest('base64');
    if (prev?.digest === digest) return;
    try {
      const parsed = parseManifest(path, text);
      for (const ig of parsed.ignored) this.opts.log.debug({ file: path, line: ig.line, kind: ig.kind, name: ig.name }, 'manifest object of an ignored kind');
      this.files.set(name, { digest, objects: parsed.objects });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (prev?.reported !== msg) {
        this.stats.invalidFiles++;
        const line = err instanceof ManifestError ? err.line : 0;
        this.opts.log.error({ file: path, line, err }, 'manifest invalid; keeping its last good content');
      }
      this.files.set(name, { digest, objects: prev?.objects ?? [], reported: msg });
    }
  }

  /** Merge files (last file in sorted order wins), filter like the informers, send the difference. */
  private deliver(): void {
    const sink = this.sink;
    if (!sink) return;
    const merged = byKind<ManifestObject & { file: string }>();
    for (const [file, st] of this.files) {
      for (const o of st.objects) {
        if (!this.wanted(o)) continue;
        const prior = merged[o.kind].get(o.key);
        if (prior && prior.file !== file) {
          const id = `${o.kind} ${o.key} ${prior.file} ${file}`;
          if (!this.warnedDuplicates.has(id)) {
            this.warnedDuplicates.add(id);
            this.opts.log.warn({ kind: o.kind, key: o.key, files: [prior.file, file], winner: file }, 'object defined in more than one manifest');
          }
        }
        merged[o.kind].set(o.key, { ...o, file });
      }
    }
    this.stats.objects = KINDS.reduce((n, k) => n + merged[k].size, 0);
    const first = this.delivered === undefined;
    const delivered = this.delivered ?? byKind<string>();
    for (const kind of KINDS) {
      const now = merged[kind];
      const seen = delivered[kind];
      const safe = (fn: () => void): void => {
        try { fn(); } catch (err) { this.opts.log.error({ resource: kind, err }, 'cluster state handler failed'); }
      };
      if (first) {
        safe(() => sink.replace(kind, [...now.values()].map((o) => o.obj as KindMap[typeof kind])));
        safe(() => sink.synced(kind));
      } else {
        for (const [key, o] of now) {
          if (seen.get(key) !== rv(o)) safe(() => sink.upsert(kind, o.obj as KindMap[typeof kind]));
        }
        for (const key of seen.keys()) if (!now.has(key)) safe(() => sink.remove(kind, key));
      }
      delivered[kind] = new Map([...now].map(([k, o]) => [k, rv(o)]));
    }
    this.delivered = delivered;
  }

  private wanted(o: ManifestObject): boolean {
    if (o.kind === 'Node') return this.opts.nodeName === undefined || o.key === this.opts.nodeName;
    // The informer lists every ServiceCIDR (no selector).
    if (o.kind === 'ServiceCIDR') return true;
    return this.selects(o.obj.metadata?.labels);
  }
}

function rv(o: ManifestObject): string {
  return o.obj.metadata?.resourceVersion ?? '';
}
