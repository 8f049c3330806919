// How long reading our whole table's rules back over netlink takes (NFT_MSG_GETRULE dump of table
// kube-proxy, no nft): the first step a restart adoption built on our codec would take (compare
// each chain's dumped rules with our encoding instead of rewriting the table; docs/nftables.md).
// Loads BENCH_SERVICES x BENCH_ENDPOINTS (default 10,000 x 10) with `nft -f` in a namespace of its
// own, runs itself inside it, and times BENCH_ROUNDS dumps. Run as root:
// `node --import tsx bench/nftables-rule-dump.probe.ts`. Not part of `npm run bench` (file name).
import { execFileSync } from 'node:child_process';
import { renderTransaction } from '../src/backends/nftables/render.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { bigState } from '../src/backends/iptables/testing/scale.ts';
import { NETLINK_NETFILTER } from '../src/netlink/nfacct.ts';
import { NFTA_RULE_TABLE, NFPROTO_IPV4, nftType } from '../src/netlink/nftables/constants.ts';
import { nfAttr } from '../src/netlink/nftables/expr.ts';
import { encodeAttrs } from '../src/netlink/attrs.ts';
import { NetlinkSocket } from '../src/system/netlink-socket.ts';
import { percentile } from './stats.ts';
import { reexecInOwnNamespace } from './probe-netns.ts';

const N = Number(process.env.BENCH_SERVICES ?? 10_000);
const E = Number(process.env.BENCH_ENDPOINTS ?? 10);
const R = Number(process.env.BENCH_ROUNDS ?? 5);
const NFT_MSG_GETRULE = 7;

reexecInOwnNamespace('kpt-probe-dump', import.meta.url);

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const tx = renderTransaction({ state: bigState(N, E, { full: true }), opts: upstreamNftOptions('IPv4', { batchElements: true }), nowMs: 0 }).transaction;
let t0 = process.hrtime.bigint();
execFileSync('nft', ['-f', '-'], { input: tx, maxBuffer: 1 << 30 });
console.log(`loaded ${N} x ${E} in ${ms(t0).toFixed(0)} ms (load ${execFileSync('cat', ['/proc/loadavg']).toString().trim()})`);
const sock = NetlinkSocket.open(NETLINK_NETFILTER, { timeoutMs: 120_000 });
const payload = new Uint8Array([NFPROTO_IPV4, 0, 0, 0, ...encodeAttrs([nfAttr.str(NFTA_RULE_TABLE, 'kube-proxy')])]);
const times: number[] = [];
let rules = 0;
let bytes = 0;
for (let i = 0; i < R; i++) {
  t0 = process.hrtime.bigint();
  const [o] = await sock.exchange([{ type: nftType(NFT_MSG_GETRULE), payload, kind: 'dump' }]);
  times.push(ms(t0));
  rules = o?.messages.length ?? 0;
  bytes = o?.messages.reduce((n, m) => n + m.payload.byteLength, 0) ?? 0;
}
sock.close();
t0 = process.hrtime.bigint();
execFileSync('nft', ['list', 'table', 'ip', 'kube-proxy'], { maxBuffer: 1 << 30 });
const listMs = ms(t0);
console.log(`GETRULE dump of table kube-proxy, ${N} x ${E}: ${rules} rules, ${(bytes / 1e6).toFixed(1)} MB; p50 / max ${percentile(times, 50).toFixed(0)} / ${Math.max(...times).toFixed(0)} ms (n=${R}); nft list table once: ${listMs.toFixed(0)} ms`);
console.log(`load after: ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`);
