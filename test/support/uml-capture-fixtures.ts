// One-off capture of real kernel replies for the codec's decode tests: run inside the IPVS test
// kernel with
//   node -e "import('./test/support/uml.ts').then(u => u.runInUml({ command: [process.execPath, 'test/support/uml-capture-fixtures.ts'] })).then(r => console.log(r.code, r.stderr))"
// It writes src/netlink/testdata/<name>.hex: the reply messages (headers included) exactly as the
// kernel sent them, one message sequence per file.
import { writeFileSync } from 'node:fs';
import { GENL_ID_CTRL, getFamilyRequest, parseFamily } from '../../src/netlink/genl.ts';
import type { IpvsService } from '../../src/netlink/ipvs.ts';
import { IP_VS_SVC_F_PERSISTENT, ipvsRequest } from '../../src/netlink/ipvs.ts';
import { encodeMessages, NETLINK_GENERIC, NETLINK_ROUTE, NLM_F_CREATE, NLM_F_EXCL } from '../../src/netlink/message.ts';
import { RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, rtRequest } from '../../src/netlink/rtnetlink.ts';
import { NetlinkSocket } from '../../src/system/netlink-socket.ts';
import type { NetlinkRequest } from '../../src/system/netlink-socket.ts';

const dir = new URL('../../src/netlink/testdata/', import.meta.url);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('').replace(/(.{64})/g, '$1\n');

async function capture(sock: NetlinkSocket, name: string, r: NetlinkRequest): Promise<Uint8Array> {
  const [o] = await sock.exchange([r]);
  if (o === undefined || o.errno !== 0) throw new Error(`${name}: errno ${o?.errno}`);
  const bytes = encodeMessages(o.messages);
  writeFileSync(new URL(`${name}.hex`, dir), `${hex(bytes).trim()}\n`);
  return bytes;
}

const genl = NetlinkSocket.open(NETLINK_GENERIC);
const [fam] = await genl.exchange([{ type: GENL_ID_CTRL, payload: getFamilyRequest('IPVS'), kind: 'doit' }]);
const familyId = parseFamily(fam?.messages[0]?.payload ?? new Uint8Array()).id;
await capture(genl, 'ctrl-getfamily-ipvs', { type: GENL_ID_CTRL, payload: getFamilyRequest('IPVS'), kind: 'doit' });

const base: IpvsService = { family: 'IPv4', protocol: 'TCP', address: '10.96.0.1', port: 443, scheduler: 'rr', flags: 0, timeout: 0, prefixLength: 32 };
const v6: IpvsService = { ...base, family: 'IPv6', protocol: 'UDP', address: 'fd00:10:96::a', port: 53, scheduler: 'wrr', prefixLength: 128 };
const sticky: IpvsService = { ...base, address: '10.96.0.30', port: 8080, scheduler: 'sh', flags: IP_VS_SVC_F_PERSISTENT, timeout: 10800, prefixLength: 24 };
const setup = [
  ipvsRequest.newService(base),
  ipvsRequest.newService(v6),
  ipvsRequest.newService(sticky),
  ipvsRequest.newDest(base, { address: '10.244.1.5', port: 8443, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }),
  ipvsRequest.newDest(base, { address: '10.244.2.6', port: 8443, forward: 'masq', weight: 5, upperThreshold: 100, lowerThreshold: 10 }),
  ipvsRequest.newDest(v6, { address: 'fd00:10:244::5', port: 5353, forward: 'masq', weight: 2, upperThreshold: 0, lowerThreshold: 0 }),
];
for (const o of await genl.exchange(setup.map((payload) => ({ type: familyId, payload, kind: 'doit' as const })))) {
  if (o.errno !== 0) throw new Error(`setup: errno ${o.errno}`);
}
await capture(genl, 'ipvs-dump-services', { type: familyId, payload: ipvsRequest.dumpServices(), kind: 'dump' });
await capture(genl, 'ipvs-dump-dests-v4', { type: familyId, payload: ipvsRequest.dumpDests(base), kind: 'dump' });
await capture(genl, 'ipvs-dump-dests-v6', { type: familyId, payload: ipvsRequest.dumpDests(v6), kind: 'dump' });
await capture(genl, 'ipvs-get-config', { type: familyId, payload: ipvsRequest.getConfig(), kind: 'doit' });
await capture(genl, 'ipvs-get-info', { type: familyId, payload: ipvsRequest.getInfo(), kind: 'doit' });
await genl.exchange([{ type: familyId, payload: ipvsRequest.flush(), kind: 'doit' }]);
genl.close();

const rt = NetlinkSocket.open(NETLINK_ROUTE);
await rt.exchange([{ type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, payload: rtRequest.newDummyLink('kube-ipvs0'), kind: 'doit' }]);
await capture(rt, 'rt-getlink-kube-ipvs0', { type: RTM_GETLINK, payload: rtRequest.getLinkByName('kube-ipvs0'), kind: 'doit' });
const [lk] = await rt.exchange([{ type: RTM_GETLINK, payload: rtRequest.getLinkByName('kube-ipvs0'), kind: 'doit' }]);
const index = new DataView((lk?.messages[0]?.payload ?? new Uint8Array(8)).slice(4, 8).buffer).getInt32(0, true);
for (const a of ['10.96.0.1', 'fd00:10:96::a']) {
  await rt.exchange([{ type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_EXCL, payload: rtRequest.address(index, a), kind: 'doit' }]);
}
await capture(rt, 'rt-dump-addresses', { type: RTM_GETADDR, payload: rtRequest.dumpAddresses(), kind: 'dump' });
rt.close();
