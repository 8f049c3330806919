// The nftables mode at BENCH_SERVICES × BENCH_ENDPOINTS (10,000 × 10), in a network namespace of
// its own, side by side in one run:
// - cold full sync (proxier: render + one `nft -f -` on an empty table) vs `nft -f` alone loading
//   the very same transaction text on an empty table (the floor: what nft and the kernel take);
// - one endpoint change: transaction size vs the full one, and change -> programmed (render + nft)
//   p50/p99 over BENCH_CHANGES changes;
// - restart on the populated table: a new proxier's first sync, time and transaction size;
// - peak RSS of this process (state, memo and the proxier together).
// Needs root (ip netns). Run: `npm run bench -- nftables` (env BENCH_SERVICES, BENCH_ENDPOINTS,
// BENCH_ROUNDS, BENCH_CHANGES). The machine is shared: medians of interleaved rounds.
import { execFileSync } from 'node:child_process';
import { NftablesProxier } from '../src/backends/nftables/proxier.ts';
import { renderTransaction, type NftRenderStats } from '../src/backends/nftables/render.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { ep } from '../src/backends/iptables/testing/fixtures.ts';
import { bigState } from '../src/backends/iptables/testing/scale.ts';
import type { Endpoint, ProxyState } from '../src/model/types.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { exec } from '../src/system/exec.ts';
import { createNft, type Nft } from '../src/system/nft.ts';
import { fmtRange, percentile, table } from './stats.ts';

const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 30);

if (process.getuid?.() !== 0) {
  console.log('nftables bench skipped: needs root (ip netns)');
  process.exit(0);
}
// One namespace per timed cold load: the kernel frees a deleted 10k-Service table in the
// background for many seconds, which slowed whatever ran next (measured: 11 s cold, then 35 s).
// They are all deleted at the end.
const namespaces: string[] = [];
function newNft(): Nft {
  const ns = `kpt-bench-nft-${process.pid}-${namespaces.length}`;
  execFileSync('ip', ['netns', 'add', ns]);
  namespaces.push(ns);
  return createNft((file, args, options) => exec('ip', ['netns', 'exec', ns, file, ...args], options));
}
let nft: Nft = newNft();
const opts = upstreamNftOptions('IPv4', { batchElements: true, masqueradeMark: '0x00004000' });

function proxier(onApplied?: (s: NftRenderStats, bytes: number, tx: string) => void): NftablesProxier {
  let last = '';
  const n = nft;
  const runner = { ...n, run: (tx: string) => ((last = tx), n.run(tx)) };
  return new NftablesProxier({
    family: 'IPv4', nft: runner, options: () => opts, logger: recordingLogger(), probeIntervalMs: 60_000,
    onApplied: (s, bytes) => onApplied?.(s, bytes, last),
  });
}

function changeOne(state: ProxyState, i: number, round: number): ProxyState {
  const names = [...state.services.keys()];
  const name = names[(i * 7919) % names.length] as string;
  const eps: Endpoint[] = [...(state.endpoints.get(name) ?? [])];
  eps[0] = ep(`10.250.${round & 255}.${(i & 127) + 1}`, 8080);
  const endpoints = new Map(state.endpoints).set(name, eps);
  return { ...state, endpoints, full: false, changedServices: new Set(), changedEndpoints: new Set([name]) };
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

try {
  const state = bigState(N, E);
  const cold: number[] = [];
  const floor: number[] = [];
  let fullTx = '';
  let fullStats: NftRenderStats | undefined;
  const render: number[] = [];
  const ours = async (): Promise<void> => {
    nft = newNft();
    const p = proxier((s, _b, tx) => ((fullTx = tx), (fullStats = s)));
    const t0 = process.hrtime.bigint();
    await p.sync({ ...state, full: true });
    cold.push(ms(t0));
  };
  const alone = async (): Promise<void> => {
    const own = newNft();
    const t0 = process.hrtime.bigint();
    await own.run(fullTx);
    floor.push(ms(t0));
  };
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0 || fullTx === '') {
      await ours();
      await alone();
    } else {
      await alone();
      await ours();
    }
    const t0 = process.hrtime.bigint();
    renderTransaction({ state: { ...state, full: true }, opts, nowMs: 0 });
    render.push(ms(t0));
  }
  // Programmed state for the change and restart measurements: a fresh namespace again.
  nft = newNft();
  const live = proxier();
  await live.sync({ ...state, full: true });
  const latency: number[] = [];
  const sizes: number[] = [];
  let cur = state;
  for (let i = 0; i < CHANGES; i++) {
    cur = changeOne(cur, i, i);
    const t0 = process.hrtime.bigint();
    await live.sync(cur);
    latency.push(ms(t0));
  }
  // One more change with a recording proxier to capture its transaction size.
  const sizeProbe = proxier((_s, b) => sizes.push(b));
  await sizeProbe.sync({ ...cur, full: true });
  sizes.length = 0;
  cur = changeOne(cur, CHANGES + 1, CHANGES + 1);
  await sizeProbe.sync(cur);
  // Restart: a new proxier on the populated table.
  let restartBytes = 0;
  const restarted = proxier((_s, b) => (restartBytes = b));
  let t0 = process.hrtime.bigint();
  await restarted.sync({ ...cur, full: true });
  const restartMs = ms(t0);
  t0 = process.hrtime.bigint();
  const listed = await nft.listObjects('ip');
  const listMs = ms(t0);

  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`nftables mode, ${N} Services × ${E} endpoints (IPv4, one namespace, shared 2-core machine), ${ROUNDS} rounds, ${CHANGES} changes`);
  table(['measure', 'value'], [
    ['cold full sync, proxier (render + nft -f), ms', fmtRange(cold)],
    ['same transaction, nft -f alone, ms', fmtRange(floor)],
    ['  of which our render alone (pure, in process), ms', fmtRange(render)],
    ['ratio proxier / nft alone (medians)', (percentile(cold, 50) / percentile(floor, 50)).toFixed(3)],
    ['full transaction, bytes / lines', `${fullTx.length} / ${fullStats?.lines ?? 0}`],
    ['one endpoint change, transaction bytes', `${sizes[0] ?? 0} (${(((sizes[0] ?? 0) / fullTx.length) * 100).toFixed(3)} % of full)`],
    ['one change -> programmed p50 / p99, ms', `${percentile(latency, 50).toFixed(1)} / ${percentile(latency, 99).toFixed(1)}`],
    ['restart on populated table (replaced whole): first sync ms / bytes', `${restartMs.toFixed(0)} / ${restartBytes}`],
    ['read-back at start (chain and set headers), ms / chains', `${listMs.toFixed(0)} / ${listed?.chains.length ?? 0}`],
    ['peak RSS of this process, MiB', maxRssMiB.toFixed(0)],
  ]);
} finally {
  for (const ns of namespaces) execFileSync('ip', ['netns', 'del', ns]);
}
