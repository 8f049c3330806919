// Run inside a bench namespace (`ip netns exec NS node --import tsx this-file`): restart adoption
// at BENCH_SERVICES × BENCH_ENDPOINTS. One proxier fills the table (full sync), one endpoint
// changes "while down", and a new proxier with the netlink read-back (adoption) syncs; the same
// restart without read-back (replaced whole) follows. Prints JSON: times (ms) and transaction bytes.
import { NftablesProxier } from '../src/backends/nftables/proxier.ts';
import { openNftTableReader } from '../src/backends/nftables/io/read-table.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { ep } from '../src/backends/iptables/testing/fixtures.ts';
import { bigState } from '../src/backends/iptables/testing/scale.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { exec } from '../src/system/exec.ts';
import { createNft } from '../src/system/nft.ts';

const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const nft = createNft(exec);
// BENCH_NUMBERED_GETS=0: element dumps only (the read-back before the numbered gets), for a same-run baseline.
const reader = openNftTableReader({ numberedGets: process.env.BENCH_NUMBERED_GETS !== '0' });
const opts = upstreamNftOptions('IPv4', { batchElements: true, masqueradeMark: '0x00004000' });
let bytes = 0;
const proxier = (adopt: boolean): NftablesProxier => new NftablesProxier({
  family: 'IPv4', nft, options: () => opts, logger: recordingLogger(), probeIntervalMs: 60_000,
  onApplied: (_s, b) => (bytes = b), ...(adopt ? { readTable: (f: 'ip' | 'ip6') => reader.read(f) } : {}),
});
const state = bigState(N, E);
await proxier(false).sync({ ...state, full: true });
const name = [...state.services.keys()][7] as string;
const changed = { ...state, endpoints: new Map(state.endpoints).set(name, [ep('10.99.0.1', 8080)]), full: true };
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
let t0 = process.hrtime.bigint();
const tRead = process.hrtime.bigint();
await reader.read('ip');
const readMs = ms(tRead);
t0 = process.hrtime.bigint();
await proxier(true).sync(changed);
const adoptMs = ms(t0);
const adoptBytes = bytes;
t0 = process.hrtime.bigint();
await proxier(false).sync(changed);
const replaceMs = ms(t0);
console.log(JSON.stringify({ services: N, endpoints: E, readBackMs: Math.round(readMs), adoptMs: Math.round(adoptMs), adoptBytes, replaceMs: Math.round(replaceMs), replaceBytes: bytes }));
reader.close();
