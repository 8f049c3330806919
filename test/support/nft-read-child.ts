// Run inside a test's namespace (`ip netns exec NS node --import tsx this-file FAMILY`): reads the
// `kube-proxy` table back twice, with the numbered gets and with element dumps only, and prints
// { gets, stats, dumps }: per set, its elements as sorted hex (key/data/userdata), for the test to compare.
import { openNftTableReader } from '../../src/backends/nftables/io/read-table.ts';
import type { KernelTable } from '../../src/backends/nftables/adopt/kernel-table.ts';

const family = process.argv[2] === 'ip6' ? 'ip6' : 'ip';
const hex = (b: Uint8Array | undefined): string => (b === undefined ? '-' : Buffer.from(b).toString('hex'));
const summary = (t: KernelTable | null): Record<string, string[]> => Object.fromEntries(
  [...(t?.sets.values() ?? [])].map((s) => [s.name, s.elements.map((e) => `${hex(e.key)}/${hex(e.data)}/${hex(e.userdata)}`).sort()]),
);
let stats = {};
const withGets = openNftTableReader({ onRead: (s) => (stats = s) });
const dumpsOnly = openNftTableReader({ numberedGets: false });
try {
  console.log(JSON.stringify({ gets: summary(await withGets.read(family)), stats, dumps: summary(await dumpsOnly.read(family)) }));
} finally {
  withGets.close();
  dumpsOnly.close();
}
