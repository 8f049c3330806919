// Where the one-change latency of the nftables mode goes (issue 12: target p99 <= 20 ms at 30k).
// Loads BENCH_SERVICES x BENCH_ENDPOINTS (default 10,000 x 10) into a namespace of its own, then
// applies one-endpoint-change transactions made by the real proxier through each way of running
// nft, and times tiny transactions of one command kind each, to see which kind makes nft fetch
// its cache of the table:
// - `nft -f -` (a new process each time: what system/nft.ts does);
// - libnftables in this process through koffi, one context kept for every run;
// - micro: `add element` to a set, `flush chain` + `add rule` of a leaf chain, `add table` only;
// - the read-back a restart adoption could use: headers, one map's elements, every set's elements.
// - our nf_tables netlink writer (io/netlink-writer.ts): the batch without nft's cache fetch.
// Not part of `npm run bench` (file name): run `node bench/nftables-one-change.probe.ts` as root;
// BENCH_ONLY_CHANGES=1 times only the one-change ways (libnftables vs netlink, twice each).
// The process re-executes itself inside the namespace (libnftables talks to its own netns).
import { execFileSync } from 'node:child_process';
import koffi from 'koffi';
import { NftablesProxier } from '../src/backends/nftables/proxier.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { ep } from '../src/backends/iptables/testing/fixtures.ts';
import { bigState } from '../src/backends/iptables/testing/scale.ts';
import type { Endpoint, ProxyState } from '../src/model/types.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { exec } from '../src/system/exec.ts';
import { createNft } from '../src/system/nft.ts';
import { openNftNetlinkWriter } from '../src/backends/nftables/io/netlink-writer.ts';
import { percentile } from './stats.ts';
import { reexecInOwnNamespace } from './probe-netns.ts';

const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const K = Number(process.env.BENCH_CHANGES ?? 20);

reexecInOwnNamespace('kpt-probe-nft', import.meta.url);

// libnftables, declared here only (a probe, not shipped code).
const lib = koffi.load('libnftables.so.1');
const NftCtx = koffi.pointer('nft_ctx', koffi.opaque());
const ctxNew = lib.func('nft_ctx_new', NftCtx, ['uint32_t']);
const runBuf = lib.func('nft_run_cmd_from_buffer', 'int', [NftCtx, 'str']);
const bufErr = lib.func('nft_ctx_buffer_error', 'int', [NftCtx]);
const getErr = lib.func('nft_ctx_get_error_buffer', 'str', [NftCtx]);
const ctx = ctxNew(0);
bufErr(ctx);
const libRun = (tx: string): void => {
  if (runBuf(ctx, tx) !== 0) throw new Error(`libnftables: ${String(getErr(ctx))}`);
};

const nft = createNft(exec);
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const opts = upstreamNftOptions('IPv4', { batchElements: true, masqueradeMark: '0x00004000' });
let runImpl: (tx: string) => Promise<void> = (tx) => nft.run(tx);
const runTimes: number[] = [];
const proxier = new NftablesProxier({
  family: 'IPv4', logger: recordingLogger(), probeIntervalMs: 3_600_000, options: () => opts,
  nft: { ...nft, run: async (tx) => { const t0 = process.hrtime.bigint(); await runImpl(tx); runTimes.push(ms(t0)); } },
});

function changeOne(state: ProxyState, i: number): ProxyState {
  const names = [...state.services.keys()];
  const name = names[(i * 7919) % names.length] as string;
  const eps: Endpoint[] = [...(state.endpoints.get(name) ?? [])];
  eps[0] = ep(`10.250.${(i >> 7) & 255}.${(i & 127) + 1}`, 8080);
  return { ...state, endpoints: new Map(state.endpoints).set(name, eps), full: false, changedServices: new Set(), changedEndpoints: new Set([name]), removedServices: new Map() };
}

const rows: Array<[string, string]> = [];
const report = (what: string, xs: number[]): void => {
  rows.push([what, `${percentile(xs, 50).toFixed(1)} / ${percentile(xs, 99).toFixed(1)} (n=${xs.length})`]);
};
const timeEach = async (what: string, n: number, f: (i: number) => Promise<void> | void): Promise<void> => {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await f(i);
    xs.push(ms(t0));
  }
  report(what, xs);
};

let state = bigState(N, E);
const t0 = process.hrtime.bigint();
await proxier.sync({ ...state, full: true });
console.log(`loaded ${N} x ${E} in ${ms(t0).toFixed(0)} ms (load ${execFileSync('cat', ['/proc/loadavg']).toString().trim()})`);

let c = 0;
const changes = async (what: string, impl: (tx: string) => Promise<void>): Promise<void> => {
  runImpl = impl;
  runTimes.length = 0;
  await timeEach(`${what}: change -> programmed`, K, async () => {
    state = changeOne(state, c++);
    await proxier.sync(state);
  });
  report(`${what}: of which nft`, [...runTimes]);
};
// Our nf_tables netlink batch (issue 12's way to the p99 target); a transaction it does not compile
// would go to libnftables and is counted.
const writer = openNftNetlinkWriter();
let declined = 0;
const viaNetlink = async (tx: string): Promise<void> => {
  if (!(await writer.tryRun(tx, 'ip'))) {
    declined++;
    libRun(tx);
  }
};
if (process.env.BENCH_ONLY_CHANGES !== '1') await changes('nft -f - (process)', (tx) => nft.run(tx));
await changes('libnftables, one context', async (tx) => libRun(tx));
await changes('netlink writer (ours)', viaNetlink);
await changes('libnftables, one context, again', async (tx) => libRun(tx));
await changes('netlink writer (ours), again', viaNetlink);
console.log(`netlink writer declined ${declined} of ${2 * K} transactions`);
// Where the netlink batch's time goes: one command kind per batch (the kernel's commit, no nft).
const nlLeaf = 'micro-netlink';
await nft.run(`add chain ip kube-proxy ${nlLeaf}\n`);
const nlMicro: Array<[string, (i: number) => string]> = [
  ['add+delete element in cluster-ips', (i) => `add element ip kube-proxy cluster-ips { 10.97.${i >> 8}.${i & 255} }\ndelete element ip kube-proxy cluster-ips { 10.97.${i >> 8}.${i & 255} }\n`],
  ['flush chain + add rule (mark, no refs)', () => `flush chain ip kube-proxy ${nlLeaf}\nadd rule ip kube-proxy ${nlLeaf} mark set mark or 0x4000 comment "m"\n`],
  ['flush chain + add rule (goto)', () => `flush chain ip kube-proxy ${nlLeaf}\nadd rule ip kube-proxy ${nlLeaf} goto reject-chain\n`],
  ['flush chain + add rule (dnat to, nat expr)', () => `flush chain ip kube-proxy ${nlLeaf}\nadd rule ip kube-proxy ${nlLeaf} meta l4proto tcp dnat to 10.1.2.3:80\n`],
  ['flush chain + add rule (numgen map dnat)', () => `flush chain ip kube-proxy ${nlLeaf}\nadd rule ip kube-proxy ${nlLeaf} meta l4proto tcp dnat ip addr . port to numgen random mod 2 map { 0 : 10.1.2.3 . 80 , 1 : 10.1.2.4 . 80 }\n`],
];
for (const [what, tx] of nlMicro) await timeEach(`netlink micro ${what}`, K, async (i) => { if (!(await writer.tryRun(tx(i), 'ip'))) throw new Error(`not compiled: ${what}`); });
// The same inline map with nft's `__map%d` (the kernel numbers it by scanning every set's name).
const kernelNamed = openNftNetlinkWriter({ kernelNames: true });
const [mapWhat, mapTx] = nlMicro[nlMicro.length - 1] as [string, (i: number) => string];
await timeEach(`netlink micro ${mapWhat}, __map%d`, K, async (i) => { await kernelNamed.tryRun(mapTx(i), 'ip'); });
if (process.env.BENCH_ONLY_CHANGES === '1') {
  console.log(`nftables one-change probe, ${N} x ${E}, p50 / p99 ms (shared 2-core machine)`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v}`);
  console.log(`load after: ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`);
  process.exit(0);
}

// Micro: one command kind per transaction, each through a new nft process and through libnftables.
const leaf = 'micro-probe';
await nft.run(`add chain ip kube-proxy ${leaf}\n`);
const micro: Array<[string, (i: number) => string]> = [
  ['add table only', () => 'add table ip kube-proxy\n'],
  ['add+delete element in cluster-ips', (i) => `add element ip kube-proxy cluster-ips { 10.99.${i >> 8}.${i & 255} }\ndelete element ip kube-proxy cluster-ips { 10.99.${i >> 8}.${i & 255} }\n`],
  ['flush chain + add rule (no refs)', (i) => `flush chain ip kube-proxy ${leaf}\nadd rule ip kube-proxy ${leaf} ip daddr 10.98.0.${i & 255} counter\n`],
  ['flush chain + add rule (jump)', () => `flush chain ip kube-proxy ${leaf}\nadd rule ip kube-proxy ${leaf} jump reject-chain\n`],
];
for (const [what, tx] of micro) {
  await timeEach(`micro ${what}: nft -f -`, K, (i) => nft.run(tx(i)));
  await timeEach(`micro ${what}: libnftables`, K, (i) => libRun(tx(i + 1000)));
}
await timeEach('nft --version (process start alone)', K, async () => { await nft.version(); });
// Restart adoption's read-back costs (issue 12): headers (chain comments come back with them, so a
// content hash there could be checked without reading rules), one verdict map's elements, every
// set and map with and without elements.
const R = Math.min(K, 5);
await timeEach('read-back: nft list chains ip (headers, comments)', R, async () => { await exec('nft', ['list', 'chains', 'ip']); });
await timeEach('read-back: nft -t list sets ip (headers only)', R, async () => { await exec('nft', ['-t', 'list', 'sets', 'ip']); });
await timeEach('read-back: nft list map service-ips (elements)', R, async () => { await exec('nft', ['list', 'map', 'ip', 'kube-proxy', 'service-ips']); });
await timeEach('read-back: nft list sets ip (every set/map with elements)', R, async () => { await exec('nft', ['list', 'sets', 'ip']); });

console.log(`nftables one-change probe, ${N} x ${E}, p50 / p99 ms (shared 2-core machine)`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v}`);
console.log(`load after: ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`);
