// Restart adoption (issue 12) on the real kernel, in namespaces of this test: a proxier syncs,
// a new one (a restart) finds the populated table, reads it back over netlink and writes only
// what changed while it was down; the table then lists exactly as a fresh full sync's. A table
// changed behind our back is repaired, affinity clients survive, an unknown layout is replaced.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const CHILD = new URL('./support/nft-adopt-child.ts', import.meta.url).pathname;
interface Svc { name: string; ip: string; eps: string[]; affinity?: boolean }
interface Out { tx: string; logs: Array<{ msg: string; reason?: string; kept?: number }>; listing: string }

const svcs = (n: number, change?: number): Svc[] => Array.from({ length: n }, (_, i) => ({
  name: `s${i}`, ip: `172.30.0.${i + 1}`, eps: i === change ? [`10.244.9.${i}`] : [`10.244.${i}.1`, `10.244.${i}.2`], ...(i === 1 ? { affinity: true } : {}),
}));

describeWith('nftables restart adoption on the real kernel', ['root'], () => {
  let ns = '';
  let fresh = '';
  beforeAll(async () => {
    ns = await createNamespace('adopt');
    fresh = await createNamespace('adopt-fresh');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
    await deleteNamespace(fresh);
  });
  const run = async (where: string, input: object): Promise<Out> => {
    await execIn(where, 'nft', ['-f', '-'], 'add table ip kube-proxy\ndelete table ip kube-proxy\n');
    return JSON.parse((await execIn(where, process.execPath, ['--import', 'tsx', CHILD], JSON.stringify({ family: 'IPv4', ...input }))).stdout) as Out;
  };

  it('writes only the service changed while down and lists as a fresh full sync', async () => {
    const want = await run(fresh, { svcs: svcs(20, 5) });
    const got = await run(ns, { first: svcs(20), svcs: svcs(20, 5) });
    expect(got.logs.map((l) => l.msg)).toContain('nftables table adopted');
    const serviceLines = got.tx.split('\n').filter((l) => l.includes('/tcp/'));
    // One service chain (add, flush, its rule); the other 19 and the affinity endpoint chain kept.
    expect(serviceLines.filter((l) => l.startsWith('add rule')).map((l) => l.split(' ')[4])).toEqual([expect.stringMatching(/^service-.*ns\/s5\/tcp\/p$/)]);
    expect(got.tx).not.toContain('delete table');
    expect(got.tx).not.toMatch(/add element ip kube-proxy (service-ips|cluster-ips)/);
    expect(got.tx.length).toBeLessThan(want.tx.length / 2);
    expect(got.listing).toBe(want.listing);
  });

  it('keeps the clients recorded in an affinity set', async () => {
    const got = await run(ns, { first: svcs(3), tamper: ['add element ip kube-proxy {affinity} { 10.1.2.3 }'], svcs: svcs(3) });
    expect(got.logs.map((l) => l.msg)).toContain('nftables table adopted');
    expect(got.listing).toMatch(/elements = \{ 10\.1\.2\.3 (timeout|expires)/);
  });

  it('repairs a rule edited in a service chain, a removed element and a foreign chain', async () => {
    const want = await run(fresh, { svcs: svcs(6) });
    const got = await run(ns, {
      first: svcs(6),
      tamper: ['add rule ip kube-proxy {service} drop', 'delete element ip kube-proxy service-ips { 172.30.0.4 . tcp . 80 }', 'add chain ip kube-proxy foreign-chain', 'add rule ip kube-proxy foreign-chain drop'],
      svcs: svcs(6),
    });
    expect(got.logs.map((l) => l.msg)).toContain('nftables table adopted');
    expect(got.tx).toContain('add element ip kube-proxy service-ips { 172.30.0.4 . tcp . 80');
    expect(got.tx).toContain('flush chain ip kube-proxy foreign-chain');
    expect(got.tx.split('\n').filter((l) => l.startsWith('add rule') && l.includes('/tcp/'))).toHaveLength(1);
    expect(got.listing).toBe(want.listing);
  });

  it('replaces a table of an unknown layout whole, logged with the reason', async () => {
    const want = await run(fresh, { svcs: svcs(3) });
    const got = await run(ns, { tamper: ['add table ip kube-proxy', 'add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -50 ; }', 'add chain ip kube-proxy old-chain'], svcs: svcs(3) });
    const info = got.logs.find((l) => l.msg === 'nftables table replaced whole, not adopted');
    expect(info?.reason).toMatch(/nat-prerouting/);
    expect(got.tx).toContain('delete table ip kube-proxy');
    expect(got.listing).toBe(want.listing);
  });
});
