// Run inside a test's namespace (`ip netns exec NS node --import tsx this-file`): the nftables
// proxier's restart adoption in this process. Input (stdin JSON): { family, first, tamper, svcs }:
// `first` services synced by one proxier (absent: skipped), the nft lines of `tamper` applied
// (`{service}` / `{affinity}`: the first service chain / affinity set of the table), then a new
// proxier (a restart) syncs `svcs`, and after 1.1 s a second sync (deferred deletions). Prints
// { tx, logs, listing }: the restart's transaction, its info logs, `nft list table` at the end.
import { readFileSync } from 'node:fs';
import { NftablesProxier } from '../../src/backends/nftables/proxier.ts';
import { openNftTableReader } from '../../src/backends/nftables/io/read-table.ts';
import { upstreamNftOptions } from '../../src/backends/nftables/testing/fixtures.ts';
import { ep, makeState, svcPort } from '../../src/backends/common/testing/fixtures.ts';
import { recordingLogger } from '../../src/sync/testing/recorders.ts';
import type { LogEntry } from '../../src/sync/testing/recorders.ts';
import { exec } from '../../src/system/exec.ts';
import { createNft } from '../../src/system/nft.ts';
import type { IPFamily } from '../../src/model/types.ts';

interface Svc { readonly name: string; readonly ip: string; readonly eps: readonly string[]; readonly affinity?: boolean }
const input = JSON.parse(readFileSync(0, 'utf8')) as { family: IPFamily; first?: Svc[]; tamper?: string[]; svcs: Svc[] };
const fam = input.family === 'IPv6' ? 'ip6' : 'ip';
const nft = createNft(exec);
const reader = openNftTableReader();
const state = (svcs: readonly Svc[], full: boolean) =>
  makeState(input.family, svcs.map((s) => [
    svcPort('ns', s.name, 'p', { family: input.family, clusterIP: s.ip, port: 80, ...(s.affinity === true ? { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } } : {}) }),
    s.eps.map((e) => ep(e, 8080)),
  ] as const), { full });
let tx = '';
const runner = { ...nft, run: (t: string) => ((tx = t), nft.run(t)) };
const make = (entries: LogEntry[]) => new NftablesProxier({ family: input.family, nft: runner, options: () => upstreamNftOptions(input.family), logger: recordingLogger(entries), readTable: (f) => reader.read(f), probeIntervalMs: 60_000 });
if (input.first !== undefined) await make([]).sync(state(input.first, true));
if (input.tamper !== undefined && input.tamper.length > 0) {
  const chains = (await exec('nft', ['list', 'chains', fam])).stdout;
  const sets = (await exec('nft', ['list', 'sets', fam])).stdout;
  const service = /chain (service-[A-Z2-7]{8}-\S+) \{/.exec(chains)?.[1] ?? '';
  const affinity = /set (affinity-\S+) \{/.exec(sets)?.[1] ?? '';
  await nft.run(input.tamper.map((l) => l.replaceAll('{service}', service).replaceAll('{affinity}', affinity)).join('\n') + '\n');
}
const logs: LogEntry[] = [];
const p = make(logs);
tx = '';
let t = Date.now();
await p.sync(state(input.svcs, true));
const restartTx = tx;
const restartMs = Date.now() - t;
await new Promise((r) => setTimeout(r, 1100));
t = Date.now();
await p.sync({ ...state(input.svcs, false), full: false });
reader.close();
const listing = (await exec('nft', ['list', 'table', fam, 'kube-proxy'])).stdout;
console.log(JSON.stringify({ tx: restartTx, restartMs, logs: logs.filter((l) => l.level === 'info').map((l) => ({ msg: l.msg, ...l.fields })), listing }));
