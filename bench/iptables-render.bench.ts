// The pure iptables renderer alone at BENCH_SERVICES × BENCH_ENDPOINTS (10,000 × 10): full render
// (cold: no memo; warm: chain names and per-service fragments from the memo), a partial render
// after one endpoint change, and a partial render with nothing changed, side by side with a floor:
// joining the same number of pre-built lines of the same total size (what any renderer must at
// least pay to produce the payload string). Every render is timed with its payload read to the
// end (the payload is made lazily, chunk by chunk, as iptables-restore would read it). Heap: what
// the memo keeps between syncs, and the largest chunk (the payload is never alive whole).
// No root, no kernel.
// Run: `npm run bench -- iptables-render` (env BENCH_SERVICES, BENCH_ENDPOINTS, BENCH_ROUNDS).
import { renderRules, type RenderMemo, type RenderResult } from '../src/backends/iptables/render.ts';
import { ep, upstreamOptions } from '../src/backends/iptables/testing/fixtures.ts';
import { bigState } from '../src/backends/iptables/testing/scale.ts';
import type { Endpoint, ProxyState } from '../src/model/types.ts';

const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
const opts = upstreamOptions();

/** CPU time of this process (all threads, GC included): steadier than wall time on a shared machine. */
function time<T>(f: () => T): [T, number] {
  const t0 = process.cpuUsage();
  const r = f();
  const d = process.cpuUsage(t0);
  return [r, (d.user + d.system) / 1000];
}

/** Read the payload to the end, as the applier does; returns the largest chunk's length. */
function drain(r: RenderResult): RenderResult & { maxChunk: number } {
  let maxChunk = 0;
  for (const c of r.payload.chunks) maxChunk = Math.max(maxChunk, c.length);
  return { ...r, maxChunk };
}

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function med(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

function cell(xs: readonly number[]): string {
  const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  return `${f(med(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

/** One endpoint of service `i` replaced, flagged as changed like the model does. */
function changeOne(state: ProxyState, i: number, round: number): ProxyState {
  const names = [...state.services.keys()];
  const name = names[i % names.length] as string;
  const eps: Endpoint[] = [...(state.endpoints.get(name) ?? [])];
  eps[0] = ep(`10.250.${round & 255}.${(i & 127) + 1}`, 8080);
  const endpoints = new Map(state.endpoints).set(name, eps);
  return { ...state, endpoints, full: false, changedServices: new Set(), changedEndpoints: new Set([name]) };
}

const state = bigState(N, E);
const rows: Record<string, number[]> = { floor: [], cold: [], warm: [], partial: [], noop: [] };
let sizes = { full: 0, partial: 0, lines: 0 };
let memoMiB = 0;
let maxChunk = 0;
let cur: ProxyState = state;
for (let r = 0; r < ROUNDS; r++) {
  gc();
  const [first, tCold] = time(() => drain(renderRules({ ...cur, full: true }, opts)));
  maxChunk = first.maxChunk;
  rows.cold?.push(tCold);
  const lines = first.payload.text.split('\n');
  sizes = { ...sizes, full: first.payload.text.length, lines: lines.length };
  gc();
  const [joined, tFloor] = time(() => lines.join('\n'));
  rows.floor?.push(tFloor);
  if (joined.length !== first.payload.text.length) throw new Error('floor join differs in size');
  lines.length = 0;
  gc();
  const [warm, tWarm] = time(() => drain(renderRules({ ...cur, full: true }, opts, first.memo)));
  rows.warm?.push(tWarm);
  if (warm.payload.text !== first.payload.text) throw new Error('warm full render differs from cold');
  let memo: RenderMemo = warm.memo;
  for (let k = 0; k < 5; k++) {
    cur = changeOne(cur, 1234 + 997 * (r * 5 + k), r * 5 + k);
    const [p, tPartial] = time((): RenderResult => drain(renderRules(cur, opts, memo)));
    rows.partial?.push(tPartial);
    sizes.partial = p.payload.text.length;
    memo = p.memo;
    const [n, tNoop] = time(() => drain(renderRules({ ...cur, changedEndpoints: new Set<string>() }, opts, memo)));
    rows.noop?.push(tNoop);
    memo = n.memo;
  }
  if (r === ROUNDS - 1) {
    const base = heapMiB();
    const held = drain(renderRules({ ...cur, full: true }, opts));
    const keepMemo = held.memo;
    // Drop the payload, keep only the memo.
    (held as { payload: unknown }).payload = null;
    memoMiB = heapMiB() - base;
    if (keepMemo.services.size !== N) throw new Error('memo lost services');
  }
}

console.log(`iptables renderer, ${N} services × ${E} endpoints: payload ${(sizes.full / 1e6).toFixed(1)} MB, ${sizes.lines} lines; ` +
  `one-endpoint partial payload ${sizes.partial} B; ${ROUNDS} rounds, CPU ms median (min–max)`);
const head = ['floor: join lines', 'full cold', 'full warm (memo)', 'partial 1 endpoint', 'partial nothing'];
const cells = [rows.floor, rows.cold, rows.warm, rows.partial, rows.noop].map((xs) => cell(xs ?? []));
const w = head.map((h, i) => Math.max(h.length, (cells[i] ?? '').length));
console.log(`| ${head.map((h, i) => h.padEnd(w[i] ?? 0)).join(' | ')} |`);
console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
console.log(`| ${cells.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ')} |`);
console.log(`full cold / floor: ${(med(rows.cold ?? []) / med(rows.floor ?? [])).toFixed(1)}×; ` +
  `heap held by memo ${memoMiB.toFixed(1)} MiB; largest payload chunk ${(maxChunk / 1024).toFixed(0)} KiB; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
