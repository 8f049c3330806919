// The netlink socket against the development kernel's rtnetlink, inside a network namespace this
// test creates (never the root namespace): link lookup and dump, a batch of address adds larger
// than one send, a multi-part address dump, benign-errno mapping, checked with `ip addr`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../src/system/exec.ts';
import { NetlinkSocket } from '../src/system/netlink-socket.ts';
import { describeWith } from './support/requirements.ts';
import { createNamespace, deleteNamespace, ipIn } from './support/netns.ts';

const N = 300;

// Runs in the namespace (via `ip netns exec`) and prints what it observed as JSON.
const script = `
import { LinkClient } from ${JSON.stringify(new URL('../src/system/link-client.ts', import.meta.url).pathname)};
const c = LinkClient.open();
const out = {};
out.links = (await c.listLinks()).map((l) => l.name).sort();
out.lo = await c.getLink('lo');
out.missing = await c.getLink('nope0');
const a = await c.getLink('kpt-a');
const addrs = Array.from({ length: ${N} }, (_, i) => '10.96.' + Math.floor(i / 250) + '.' + ((i % 250) + 1));
const added = await c.addAddresses(a, [...addrs, 'fd00:10:96::1']);
out.addedChanged = added.filter((r) => r.changed).length;
out.addedErrors = added.filter((r) => r.error).map((r) => r.error.message);
out.again = (await c.addAddresses(a, ['10.96.0.1'])).map((r) => [r.changed, r.error]);
out.listed = (await c.listAddresses(a.index)).map((x) => x.address + '/' + x.prefixLength);
out.deleted = (await c.deleteAddresses(a, [...addrs.slice(10), '10.96.200.1'])).filter((r) => r.changed).length;
out.left = (await c.listAddresses(a.index, 'IPv4')).map((x) => x.address).sort();
c.close();
console.log(JSON.stringify(out));
`;

interface Observed {
  links: string[];
  lo: { index: number; name: string };
  missing: null;
  addedChanged: number;
  addedErrors: string[];
  again: [boolean, unknown][];
  listed: string[];
  deleted: number;
  left: string[];
}

describeWith('netlink socket on the host kernel (own namespace)', ['root'], () => {
  let ns: string;
  let seen: Observed;
  let ipAddr: string;
  beforeAll(async () => {
    ns = await createNamespace('nl');
    await ipIn(ns, ['link', 'add', 'kpt-a', 'type', 'veth', 'peer', 'name', 'kpt-b']);
    const r = await exec('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { timeoutMs: 60_000 });
    seen = JSON.parse(r.stdout) as Observed;
    ipAddr = (await ipIn(ns, ['-o', 'addr', 'show', 'dev', 'kpt-a'])).stdout;
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('dumps and looks up links of the namespace only', () => {
    expect(seen.links).toEqual(['kpt-a', 'kpt-b', 'lo']);
    expect(seen.lo).toMatchObject({ index: 1, name: 'lo' });
    expect(seen.missing).toBeNull();
  });

  it('adds a batch of addresses larger than one send, every ack matched', () => {
    expect(seen.addedErrors).toEqual([]);
    expect(seen.addedChanged).toBe(N + 1);
    expect(seen.again).toEqual([[false, null]]);
  });

  it('reads them back with a multi-part dump that agrees with ip addr', () => {
    expect(seen.listed).toHaveLength(N + 1);
    expect(seen.listed).toContain('10.96.1.44/32');
    expect(seen.listed).toContain('fd00:10:96::1/128');
    expect(seen.left).toEqual(Array.from({ length: 10 }, (_, i) => `10.96.0.${i + 1}`).sort());
    expect(seen.deleted).toBe(N - 10);
    const fromIp = [...ipAddr.matchAll(/inet (\S+)/g)].map((m) => m[1]?.split('/')[0]).sort();
    expect(fromIp).toEqual(seen.left);
  });
});

describe('netlink socket failures', () => {
  it('surfaces a send the kernel refuses as a named error, and a closed socket as closed', async () => {
    // NETLINK_USERSOCK (2) has no kernel receiver: sending to port 0 is refused at once.
    const sock = NetlinkSocket.open(2, { timeoutMs: 300 });
    try {
      await expect(sock.exchange([{ type: 0x20, payload: new Uint8Array(4), kind: 'doit' }])).rejects.toThrow('sendto: ECONNREFUSED');
      // A failed exchange does not wedge the queue: the next one runs (and fails the same way).
      await expect(sock.exchange([{ type: 0x20, payload: new Uint8Array(4), kind: 'doit' }])).rejects.toThrow('sendto: ECONNREFUSED');
    } finally {
      sock.close();
    }
    await expect(sock.exchange([])).rejects.toThrow('netlink: socket closed');
  });
});
