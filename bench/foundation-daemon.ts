// Child process of foundation.bench.ts: the daemon side, alone in its process so its peak RSS is
// its own. Modes:
//   idle         imports only (the process floor)
//   fetch        plain fetch + JSON.parse of both lists (the transfer-and-parse floor)
//   client-node  client-node's typed list calls, no processing (what our source builds on)
//   recording    ApiSource → ClusterState → SyncLoop with a proxier that only records
//   iptables     the same with the real IptablesProxier (render included) and an applier that
//                discards the payload
// Prints `first-sync JSON` (or `result JSON` for the list-only modes); for the two sync modes it
// then waits for BURST endpoint changes, counts the syncs they caused and prints `burst JSON`.
// Run: node --expose-gc bench/foundation-daemon.ts MODE URL BURST MIN_SYNC_MS
import { CoreV1Api, DiscoveryV1Api, KubeConfig as ClientNodeKubeConfig } from '@kubernetes/client-node';
import type { KubeConfig } from '../src/sources/kube-config.ts';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../src/backends/iptables/options.ts';
import { IptablesProxier } from '../src/backends/iptables/proxier.ts';
import { renderRules, type RenderMemo } from '../src/backends/iptables/render.ts';
import type { RulesApplier } from '../src/backends/common/iptables-rules-applier.ts';
import { iptablesJumps } from '../src/backends/iptables/io/setup.ts';
import { ClusterState } from '../src/model/cluster-state.ts';
import type { Logger } from '../src/model/logger.ts';
import type { Proxier, ProxyState, SyncResult } from '../src/model/types.ts';
import { realClock } from '../src/server/real-clock.ts';
import { ApiSource } from '../src/sources/api-source.ts';
import { createKubeClient } from '../src/sources/kube-client.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { SERVICE_LABEL_SELECTOR } from '../src/sources/types.ts';
import { SyncLoop } from '../src/sync/sync-loop.ts';
import { RecordingMetrics } from '../src/sync/testing/recorders.ts';
import { BENCH_NODE } from './cluster-fixtures.ts';

const [variant = 'recording', url = '', burstArg = '1000', minSyncArg = '1000'] = process.argv.slice(2);
const BURST = Number(burstArg);
const MIN_SYNC_MS = Number(minSyncArg);

/** Peak resident set so far, MiB (getrusage ru_maxrss is in KiB on Linux). */
const peakMiB = (): number => process.resourceUsage().maxRSS / 1024;
const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;
const emit = (tag: string, data: Record<string, unknown>): void => void process.stdout.write(`${tag} ${JSON.stringify(data)}\n`);

/** Warnings and errors only, to stderr: a bench must not pay for logging it does not read. */
function quietLogger(): Logger {
  const drop = (): void => undefined;
  const say = (level: string) => (a: object | string, b?: string): void => {
    process.stderr.write(`${level}: ${typeof a === 'string' ? a : `${b ?? ''} ${JSON.stringify(a)}`}\n`);
  };
  const log: Logger = { trace: drop, debug: drop, info: drop, warn: say('warn'), error: say('error'), fatal: say('fatal'), child: () => log };
  return log;
}

const selector = `labelSelector=${encodeURIComponent(SERVICE_LABEL_SELECTOR)}`;

async function listFetch(): Promise<void> {
  const t0 = performance.now();
  const get = async (path: string): Promise<number> => {
    const res = await fetch(`${url}${path}?${selector}`);
    const body = (await res.json()) as { items: unknown[] };
    return body.items.length;
  };
  const [svcs, slices] = await Promise.all([get('/api/v1/services'), get('/apis/discovery.k8s.io/v1/endpointslices')]);
  emit('result', { listMs: performance.now() - t0, items: svcs + slices, peakMiB: peakMiB() });
}

async function listClientNode(server: string): Promise<void> {
  const kc = new ClientNodeKubeConfig();
  kc.loadFromClusterAndUser({ name: 'bench', server, skipTLSVerify: true }, { name: 'anonymous' });
  const t0 = performance.now();
  const [s, e] = await Promise.all([
    kc.makeApiClient(CoreV1Api).listServiceForAllNamespaces({ labelSelector: SERVICE_LABEL_SELECTOR }),
    kc.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces({ labelSelector: SERVICE_LABEL_SELECTOR }),
  ]);
  emit('result', { listMs: performance.now() - t0, items: s.items.length + e.items.length, peakMiB: peakMiB() });
}

interface SyncRecord {
  readonly at: number;
  readonly changed: number;
  readonly full: boolean;
  readonly renderMs: number;
  readonly bytes: number;
}

const records: SyncRecord[] = [];

/** Counts what it is asked to program, as a proxier with free programming would. */
class RecordingProxier implements Proxier {
  readonly mode = 'iptables' as const;
  readonly family = 'IPv4' as const;
  async sync(state: ProxyState): Promise<SyncResult> {
    let endpoints = 0;
    for (const eps of state.endpoints.values()) endpoints += eps.length;
    records.push({ at: performance.now(), changed: state.changedEndpoints.size + state.changedServices.size, full: state.full, renderMs: 0, bytes: endpoints });
    return { kind: state.full ? 'full' : 'partial' };
  }
}

/** Characters in a restore input, without joining its chunks. */
function inputLength(payload: string | Iterable<string>): number {
  if (typeof payload === 'string') return payload.length;
  let n = 0;
  for (const c of payload) n += c.length;
  return n;
}

/**
 * An applier that keeps nothing (no kernel involved). The payload is made lazily as it is read;
 * the render step below reads it once (so its time is the whole render) and this drops it.
 */
function discardApplier(): RulesApplier {
  return {
    family: 'IPv4',
    backend: 'dry-run',
    ensureJumps: async () => undefined,
    ensureCanary: async () => undefined,
    canaryPresent: async () => true,
    natChains: async () => [],
    restore: async () => undefined,
    cleanup: async () => undefined,
  };
}

const HOST_OPTIONS: RenderOptions = {
  ...DEFAULT_RENDER_OPTIONS,
  localDetector: { ifLocal: '-s 10.244.0.0/16', ifNotLocal: '! -s 10.244.0.0/16' },
  nodeIPs: ['192.0.2.10'],
  localAddresses: ['127.0.0.1', '192.0.2.10'],
  randomFully: true,
};

function iptablesProxier(log: Logger): Proxier {
  return new IptablesProxier<RenderMemo>({
    family: 'IPv4',
    applier: discardApplier(),
    render: (state, opts, prev) => {
      const t = performance.now();
      const out = renderRules(state, opts, prev);
      const bytes = inputLength(out.payload.chunks);
      const renderMs = performance.now() - t;
      records.push({ at: Number.NaN, changed: state.changedEndpoints.size + state.changedServices.size, full: out.stats.full, renderMs, bytes });
      return out;
    },
    jumps: iptablesJumps,
    renderOptions: () => HOST_OPTIONS,
    logger: log,
  });
}

async function runDaemon(kc: KubeConfig, log: Logger): Promise<void> {
  const state = new ClusterState({ nodeName: BENCH_NODE, families: ['IPv4'], requireNode: true });
  const proxier = variant === 'iptables' ? iptablesProxier(log) : new RecordingProxier();
  const synced: number[] = [];
  const counted: Proxier = {
    mode: proxier.mode,
    family: proxier.family,
    sync: async (s) => {
      const r = await proxier.sync(s);
      synced.push(performance.now());
      const last = records.at(-1);
      if (last !== undefined && Number.isNaN(last.at)) records[records.length - 1] = { ...last, at: performance.now() };
      return r;
    },
  };
  const loop = new SyncLoop({
    clock: realClock, logger: log, state, proxiers: [counted], metrics: new RecordingMetrics(),
    minSyncPeriodMs: MIN_SYNC_MS, syncPeriodMs: 30_000,
  });
  const t0 = performance.now();
  let listedAt = 0;
  state.onChange(() => {
    if (listedAt === 0 && state.isSynced()) listedAt = performance.now();
    loop.requestSync();
  });
  loop.start();
  const source = new ApiSource({ client: createKubeClient(kc), nodeName: BENCH_NODE, log });
  await source.start(state);
  while (synced.length === 0 || listedAt === 0) await new Promise((r) => setTimeout(r, 5));
  const first = records[0];
  emit('first-sync', {
    listMs: listedAt - t0,
    firstSyncMs: (synced[0] ?? 0) - t0,
    fromProcessStartMs: synced[0] ?? 0,
    renderMs: first?.renderMs ?? 0,
    bytes: first?.bytes ?? 0,
    peakMiB: peakMiB(),
  });
  // Settle, then the steady-state figure: what stays resident after the first sync.
  await new Promise((r) => setTimeout(r, MIN_SYNC_MS + 200));
  globalThis.gc?.();
  const steadyMiB = rssMiB();
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  const syncsBefore = synced.length;
  const base = state.endpointChangesTotal;
  emit('ready-for-burst', { steadyMiB, heapMiB });
  const b0 = performance.now();
  let firstEventAt = 0;
  let lastEventAt = 0;
  while (state.endpointChangesTotal < base + BURST || state.oldestPendingChange() !== undefined) {
    if (state.endpointChangesTotal > base && firstEventAt === 0) firstEventAt = performance.now();
    if (state.endpointChangesTotal >= base + BURST && lastEventAt === 0) lastEventAt = performance.now();
    if (performance.now() - b0 > 120_000) throw new Error(`burst not seen within 120 s (${state.endpointChangesTotal - base}/${BURST} changes)`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const doneAt = performance.now();
  // Trailing syncs the runner may still run (it is asked once per change).
  await new Promise((r) => setTimeout(r, MIN_SYNC_MS * 1.5));
  const burstSyncs = records.slice(syncsBefore);
  emit('burst', {
    changes: state.endpointChangesTotal - base,
    syncs: synced.length - syncsBefore,
    syncsWithChanges: burstSyncs.filter((r) => r.changed > 0).length,
    changedPerSync: burstSyncs.map((r) => r.changed),
    renderMsPerSync: burstSyncs.map((r) => Math.round(r.renderMs)),
    /** First change seen → last change seen (delivery of the burst). */
    arrivalMs: lastEventAt - firstEventAt,
    /** First change seen → all of them programmed. */
    programmedMs: doneAt - firstEventAt,
    peakMiB: peakMiB(),
  });
  await source.stop();
  await loop.stop();
}

const log = quietLogger();
const kc = loadKubeConfig({ master: url });
if (variant === 'idle') emit('result', { listMs: 0, items: 0, peakMiB: peakMiB() });
else if (variant === 'fetch') await listFetch();
else if (variant === 'client-node') await listClientNode(url);
else await runDaemon(kc, log);
process.exit(0);
