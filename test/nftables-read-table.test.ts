// The read-back of restart adoption (src/backends/nftables/io/read-table.ts) on the real kernel:
// the anonymous numgen maps read by gets of keys 0..size-1 (read-numbered-elements.ts) hold
// exactly what element dumps return, and anonymous sets with other keys (an address-keyed vmap,
// a numgen map with a key missing) still come back whole through the dump.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const CHILD = new URL('./support/nft-read-child.ts', import.meta.url).pathname;
interface Out { gets: Record<string, string[]>; stats: { gets: number; dumps: number }; dumps: Record<string, string[]> }

const TABLE = (fam: 'ip' | 'ip6', addr: (i: number) => string): string => `
table ${fam} kube-proxy {
  set cluster-ips { type ${fam === 'ip' ? 'ipv4_addr' : 'ipv6_addr'}; elements = { ${addr(1)}, ${addr(2)} } }
  chain svc-a { meta l4proto tcp dnat to numgen random mod 3 map { 0 : ${addr(10)} . 80, 1 : ${addr(11)} . 80, 2 : ${addr(12)} . 80 }; }
  chain svc-b { meta l4proto tcp dnat to numgen random mod 1 map { 0 : ${addr(20)} . 8080 }; }
  chain svc-gap { meta l4proto tcp dnat to numgen random mod 3 map { 0 : ${addr(30)} . 80, 2 : ${addr(32)} . 80 }; }
  chain svc-vmap { ${fam} daddr vmap { ${addr(40)} : accept, ${addr(41)} : drop }; }
  chain big { meta l4proto tcp dnat to numgen random mod 300 map { ${Array.from({ length: 300 }, (_, i) => `${i} : ${addr(100 + (i % 150))} . ${1000 + i}`).join(', ')} }; }
}
`;

describeWith('nftables table read-back on the real kernel', ['root'], () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('readback');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it.each([
    ['ip' as const, (i: number) => `10.0.${i >> 8}.${i & 255}`],
    ['ip6' as const, (i: number) => `fd00::${i.toString(16)}`],
  ])('%s: gets of numbered maps return what dumps return, other anonymous sets are dumped', async (fam, addr) => {
    await execIn(ns, 'nft', ['-f', '-'], `add table ${fam} kube-proxy\ndelete table ${fam} kube-proxy\n${TABLE(fam, addr)}`);
    const out = JSON.parse((await execIn(ns, process.execPath, ['--import', 'tsx', CHILD, fam])).stdout) as Out;
    expect(out.gets).toEqual(out.dumps);
    const sizes = Object.values(out.dumps).map((e) => e.length).sort((a, b) => a - b);
    // cluster-ips 2, svc-b 1, svc-gap 2, svc-vmap 2, svc-a 3, big 300: nothing lost on either path.
    expect(sizes).toEqual([1, 2, 2, 2, 3, 300]);
    // svc-a, svc-b and big by gets; cluster-ips, svc-gap (key 1 missing) and svc-vmap dumped.
    expect(out.stats).toEqual({ gets: 3, dumps: 3 });
  });
});
