// The rtnetlink address reader (src/system/local-addresses-netlink.ts) inside a namespace this test
// creates, with addresses of both families on two links added out of link order: it must list
// what `ip -j addr show` lists there, in the same order (the node-IP fallback takes the first
// non-loopback address), and see an address removed since the previous read.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseIpAddrJson, type LocalAddress } from '../src/system/local-addresses.ts';
import { describeWith } from './support/requirements.ts';
import { createNamespace, deleteNamespace, ipIn } from './support/netns.ts';

// Runs in the namespace (via `ip netns exec`): two reads, with the namespace changed in between by
// the parent (it waits for a line on stdin).
const script = `
import { openNetlinkAddressSource } from ${JSON.stringify(new URL('../src/system/local-addresses-netlink.ts', import.meta.url).pathname)};
import { createInterface } from 'node:readline';
const s = openNetlinkAddressSource();
const first = { all: await s.read(), v4: await s.read('IPv4'), v6: await s.read('IPv6') };
console.log(JSON.stringify(first));
for await (const _ of createInterface({ input: process.stdin })) break;
console.log(JSON.stringify({ all: await s.read() }));
s.close();
`;

interface Reads {
  all: LocalAddress[];
  v4?: LocalAddress[];
  v6?: LocalAddress[];
}

describeWith('local addresses over rtnetlink (own namespace)', ['root'], () => {
  let ns: string;
  const seen: Reads[] = [];
  const viaIp: LocalAddress[][] = [];
  const ipAddrs = async (): Promise<LocalAddress[]> => parseIpAddrJson((await ipIn(ns, ['-j', 'addr', 'show'])).stdout);

  beforeAll(async () => {
    ns = await createNamespace('ipt2-addr');
    await ipIn(ns, ['link', 'add', 'kpt-a', 'type', 'veth', 'peer', 'name', 'kpt-b']);
    for (const l of ['kpt-a', 'kpt-b']) await ipIn(ns, ['link', 'set', l, 'up']);
    // The veth peer (kpt-b) is created first and gets the lower index; addresses go to kpt-a first,
    // so the order they were added in differs from link order.
    await ipIn(ns, ['addr', 'add', '2001:db8:0:2::11/64', 'dev', 'kpt-a', 'nodad']);
    await ipIn(ns, ['addr', 'add', '192.0.2.11/24', 'dev', 'kpt-a']);
    await ipIn(ns, ['addr', 'add', '198.51.100.7/32', 'dev', 'kpt-a']);
    await ipIn(ns, ['addr', 'add', '192.0.2.22/24', 'dev', 'kpt-b']);
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<Reads> => JSON.parse(String((await lines.next()).value)) as Reads;
    seen.push(await next());
    viaIp.push(await ipAddrs());
    await ipIn(ns, ['addr', 'del', '192.0.2.11/24', 'dev', 'kpt-a']);
    viaIp.push(await ipAddrs());
    child.stdin.write('go\n');
    seen.push(await next());
    child.stdin.end();
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('lists what ip -j addr lists, in the same order', () => {
    expect(seen[0]?.all).toEqual(viaIp[0]);
    expect(seen[0]?.v4).toEqual(viaIp[0]?.filter((a) => a.family === 'IPv4'));
    expect(seen[0]?.v6).toEqual(viaIp[0]?.filter((a) => a.family === 'IPv6'));
    expect(seen[0]?.v4?.map((a) => `${a.interface} ${a.ip}/${a.prefixLength}`)).toEqual([
      'lo 127.0.0.1/8', 'kpt-b 192.0.2.22/24', 'kpt-a 192.0.2.11/24', 'kpt-a 198.51.100.7/32',
    ]);
  });

  it('sees an address removed between two reads on the same socket', () => {
    expect(seen[1]?.all).toEqual(viaIp[1]);
    expect(seen[1]?.all.map((a) => a.ip)).not.toContain('192.0.2.11');
  });
});
