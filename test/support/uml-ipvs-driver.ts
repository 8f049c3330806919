// Runs inside the IPVS test kernel (test/ipvs-netlink.test.ts boots it via runInUml): drives the
// IpvsClient and LinkClient against the real kernel and records what it observed — our own
// dumps and, as the independent check, `ipvsadm -Ln` and `ip addr` — into $KPT_UML_RESULT.
// Assertions stay in the test; this script only observes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describeError, KubeProxyError } from '../../src/errors.ts';
import type { IpvsDestination, IpvsService } from '../../src/netlink/ipvs.ts';
import { IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED2 } from '../../src/netlink/ipvs.ts';
import { IpvsClient } from '../../src/system/ipvs-client.ts';
import { LinkClient } from '../../src/system/link-client.ts';

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const errText = (err: unknown): string => (KubeProxyError.is(err) ? `${err.code} ${err.message}` : describeError(err));
async function caught(fn: () => Promise<unknown>): Promise<string | null> {
  try {
    await fn();
    return null;
  } catch (err) {
    return errText(err);
  }
}

const svc = (over: Partial<IpvsService>): IpvsService => ({
  family: 'IPv4', protocol: 'TCP', address: '10.96.0.1', port: 443, scheduler: 'rr', flags: 0, timeout: 0, prefixLength: 32, ...over,
});
const dest = (address: string, port: number, weight = 1): IpvsDestination => ({
  address, port, forward: 'masq', weight, upperThreshold: 0, lowerThreshold: 0,
});

const out: Record<string, unknown> = {};
const ipvs = await IpvsClient.open();
out.familyId = ipvs.familyId;
out.info = await ipvs.info();

const services: IpvsService[] = [
  svc({}),
  svc({ protocol: 'UDP', address: '10.96.0.10', port: 53, scheduler: 'wrr' }),
  svc({ address: '10.96.0.20', port: 80, scheduler: 'sh', flags: IP_VS_SVC_F_SCHED2 }),
  svc({ address: '10.96.0.30', port: 8080, scheduler: 'lc', flags: IP_VS_SVC_F_PERSISTENT, timeout: 10800 }),
  svc({ family: 'IPv6', address: 'fd00:10:96::a', port: 443, scheduler: 'rr', prefixLength: 128 }),
  svc({ protocol: 'SCTP', address: '10.96.0.40', port: 9999, scheduler: 'mh' }),
];
const dests: Record<string, IpvsDestination[]> = {
  '10.96.0.1': [dest('10.244.1.5', 8443), dest('10.244.2.6', 8443)],
  '10.96.0.10': [dest('10.244.1.7', 53, 3), dest('10.244.2.8', 53, 1)],
  'fd00:10:96::a': [dest('fd00:10:244::5', 8443)],
};

out.applyAdd = (
  await ipvs.apply(
    services.flatMap((s) => [
      { op: 'addService' as const, service: s },
      ...(dests[s.address] ?? []).map((d) => ({ op: 'addDestination' as const, service: s, destination: d })),
    ]),
  )
).map((r) => (r.error ? errText(r.error) : null));
out.servicesAfterAdd = await ipvs.listServices();
const destsAfterAdd: Record<string, unknown> = {};
for (const s of services) destsAfterAdd[s.address] = await ipvs.listDestinations(s);
out.destsAfterAdd = destsAfterAdd;
// Concurrent callers share one socket: exchanges are queued, never interleaved.
out.concurrent = await Promise.all([
  ipvs.listServices().then((l) => l.length),
  ipvs.listDestinations(services[1] as IpvsService).then((l) => l.length),
  ipvs.info().then((i) => i.version),
  ipvs.apply([{ op: 'addService', service: services[0] as IpvsService }]).then((r) => r[0]?.error?.errnoName),
]);
out.ipvsadmAfterAdd = sh('ipvsadm', ['-Ln']);
out.getService = await ipvs.getService(services[1] as IpvsService);
out.getMissing = await ipvs.getService(svc({ address: '10.96.9.9' }));

// Errors: duplicates, missing objects, unknown scheduler; and their benign mapping.
out.errors = {
  dupService: await caught(() => ipvs.addService(services[0] as IpvsService)),
  dupServiceTolerated: await caught(() => ipvs.addService(services[0] as IpvsService, ['EEXIST'])),
  dupDest: await caught(() => ipvs.addDestination(services[0] as IpvsService, dest('10.244.1.5', 8443))),
  delMissingService: await caught(() => ipvs.deleteService(svc({ address: '10.96.9.9' }))),
  delMissingServiceTolerated: await caught(() => ipvs.deleteService(svc({ address: '10.96.9.9' }), ['ESRCH'])),
  delMissingDest: await caught(() => ipvs.deleteDestination(services[0] as IpvsService, dest('10.244.9.9', 1))),
  badScheduler: await caught(() => ipvs.addService(svc({ address: '10.96.9.8', scheduler: 'nosuch' }))),
  batchBenign: (
    await ipvs.apply(
      [{ op: 'addService', service: services[0] as IpvsService }, { op: 'deleteService', service: svc({ address: '10.96.9.9' }) }],
      { tolerateBenign: true },
    )
  ).map((r) => r.error?.message ?? null),
};

// Edits: weights, scheduler/persistence in place, then deletes.
await ipvs.updateDestination(services[0] as IpvsService, dest('10.244.1.5', 8443, 0));
await ipvs.updateDestination(services[1] as IpvsService, dest('10.244.2.8', 53, 7));
await ipvs.updateService({ ...(services[0] as IpvsService), scheduler: 'wrr', flags: IP_VS_SVC_F_PERSISTENT, timeout: 600 });
out.destsAfterEdit = await ipvs.listDestinations(services[0] as IpvsService);
out.dnsAfterEdit = await ipvs.listDestinations(services[1] as IpvsService);
out.serviceAfterEdit = await ipvs.getService(services[0] as IpvsService);
await ipvs.deleteDestination(services[0] as IpvsService, dest('10.244.2.6', 8443));
await ipvs.deleteService(services[2] as IpvsService);
out.servicesAfterDelete = (await ipvs.listServices()).map((s) => `${s.address}:${s.port}/${s.protocol}`);
out.destsAfterDelete = await ipvs.listDestinations(services[0] as IpvsService);
out.destsOfMissing = await ipvs.listDestinations(services[2] as IpvsService);
out.ipvsadmAfterEdit = sh('ipvsadm', ['-Ln']);
out.timeoutsBefore = await ipvs.getTimeouts();
await ipvs.setTimeouts({ tcp: 901, tcpFin: 0, udp: 301 });
out.timeoutsAfter = await ipvs.getTimeouts();
out.ipvsadmTimeouts = sh('ipvsadm', ['-L', '--timeout']);

// A batch larger than one chunk: 600 services then their deletion, all acks matched.
const many = Array.from({ length: 600 }, (_, i) => svc({ address: `10.97.${i >> 8}.${i & 255}`, port: 80 }));
const addMany = await ipvs.apply(many.map((s) => ({ op: 'addService' as const, service: s })));
out.manyAddErrors = addMany.filter((r) => r.error).length;
out.manyListed = (await ipvs.listServices()).length;
const delMany = await ipvs.apply(many.map((s) => ({ op: 'deleteService' as const, service: s })));
out.manyDelErrors = delMany.filter((r) => r.error).length;
await ipvs.flush();
out.servicesAfterFlush = (await ipvs.listServices()).length;
ipvs.close();

// kube-ipvs0 through rtnetlink, checked with `ip`.
const links = LinkClient.open();
out.linkMissing = await links.getLink('kube-ipvs0');
const link = await links.ensureDummyLink('kube-ipvs0');
out.link = link;
out.linkAgain = await links.ensureDummyLink('kube-ipvs0');
out.addrAdd = await links.addAddresses(link, ['10.96.0.1', '10.96.0.10', 'fd00:10:96::a', '10.96.0.1', 'bogus']);
out.addrList = (await links.listAddresses(link.index)).map((a) => `${a.address}/${a.prefixLength}`).sort();
out.ipAddrAfterAdd = sh('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
out.addrDel = await links.deleteAddresses(link, ['10.96.0.10', '10.96.0.99']);
out.addrListAfterDel = (await links.listAddresses(link.index)).map((a) => a.address).sort();
out.ipLink = sh('ip', ['-d', 'link', 'show', 'kube-ipvs0']);
out.linkDeleted = await links.deleteLink('kube-ipvs0');
out.linkGone = await links.getLink('kube-ipvs0');
out.loIndex = (await links.listLinks()).find((l) => l.name === 'lo')?.index;
links.close();

writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out, (_k, v: unknown) => (v instanceof Error ? v.message : v)));
