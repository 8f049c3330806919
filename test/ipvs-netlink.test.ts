// IPVS and rtnetlink against a real kernel: the IPVS test kernel (UML) runs
// test/support/uml-ipvs-driver.ts, which drives IpvsClient and LinkClient and records our dumps
// next to `ipvsadm -Ln` and `ip addr` (independent tools reading the same kernel state).
import { beforeAll, expect, it } from 'vitest';
import type { IpvsDestinationInfo, IpvsServiceInfo } from '../src/netlink/ipvs-decode.ts';
import { describeWith } from './support/requirements.ts';
import { runInUml } from './support/uml.ts';

interface DriverResult {
  familyId: number;
  info: { version: number; connTableSize: number };
  applyAdd: (string | null)[];
  servicesAfterAdd: IpvsServiceInfo[];
  destsAfterAdd: Record<string, IpvsDestinationInfo[]>;
  concurrent: [number, number, number, string];
  ipvsadmAfterAdd: string;
  getService: IpvsServiceInfo | null;
  getMissing: IpvsServiceInfo | null;
  errors: Record<string, string | null | (string | null)[]>;
  destsAfterEdit: IpvsDestinationInfo[];
  dnsAfterEdit: IpvsDestinationInfo[];
  serviceAfterEdit: IpvsServiceInfo | null;
  servicesAfterDelete: string[];
  destsAfterDelete: IpvsDestinationInfo[];
  destsOfMissing: IpvsDestinationInfo[];
  ipvsadmAfterEdit: string;
  timeoutsBefore: { tcp: number; tcpFin: number; udp: number };
  timeoutsAfter: { tcp: number; tcpFin: number; udp: number };
  ipvsadmTimeouts: string;
  manyAddErrors: number;
  manyListed: number;
  manyDelErrors: number;
  servicesAfterFlush: number;
  linkMissing: unknown;
  link: { index: number; name: string; flags: number; kind?: string };
  linkAgain: { index: number };
  addrAdd: { address: string; changed: boolean; error: string | null }[];
  addrList: string[];
  ipAddrAfterAdd: string;
  addrDel: { address: string; changed: boolean; error: string | null }[];
  addrListAfterDel: string[];
  ipLink: string;
  linkDeleted: boolean;
  linkGone: unknown;
  loIndex: number;
}

/** `ipvsadm -Ln` lines without the header, whitespace collapsed, sorted. */
function ipvsadmLines(text: string): string[] {
  return text.split('\n').slice(3).map((l) => l.trim().replace(/\s+/g, ' ')).filter((l) => l !== '').sort();
}

/** The same lines rendered from our own dumps. */
function renderOurs(services: IpvsServiceInfo[], dests: Record<string, IpvsDestinationInfo[]>): string[] {
  const hostPort = (a: string, p: number): string => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
  const lines: string[] = [];
  for (const s of services) {
    const extra = [s.flags & 0x10 ? `(${s.scheduler}-port)` : '', s.flags & 1 ? `persistent ${s.timeout}` : ''].filter(Boolean);
    lines.push([s.protocol.padEnd(4).trim(), hostPort(s.address, s.port), s.scheduler, ...extra].join(' '));
    for (const d of dests[s.address] ?? []) {
      lines.push(`-> ${hostPort(d.address, d.port)} Masq ${d.weight} ${d.activeConns} ${d.inactiveConns}`);
    }
  }
  return lines.sort();
}

describeWith('IPVS over generic netlink (IPVS test kernel)', ['uml'], () => {
  let r: DriverResult;
  beforeAll(async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/uml-ipvs-driver.ts'], timeoutMs: 150_000 });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    r = run.resultJson as DriverResult;
  });

  it('resolves the IPVS family through nlctrl and reads the version', () => {
    expect(r.familyId).toBeGreaterThanOrEqual(0x10);
    expect(r.info).toEqual({ version: 0x010201, connTableSize: 4096 });
  });

  it('adds services with several schedulers and destinations in one batch', () => {
    expect(r.applyAdd).toEqual(Array(11).fill(null));
    const brief = r.servicesAfterAdd.map((s) => ({ a: s.address, p: s.port, proto: s.protocol, sched: s.scheduler, flags: s.flags, t: s.timeout, m: s.prefixLength }));
    expect(brief.sort((x, y) => x.a.localeCompare(y.a))).toEqual([
      { a: '10.96.0.1', p: 443, proto: 'TCP', sched: 'rr', flags: 0, t: 0, m: 32 },
      { a: '10.96.0.10', p: 53, proto: 'UDP', sched: 'wrr', flags: 0, t: 0, m: 32 },
      { a: '10.96.0.20', p: 80, proto: 'TCP', sched: 'sh', flags: 0x10, t: 0, m: 32 },
      { a: '10.96.0.30', p: 8080, proto: 'TCP', sched: 'lc', flags: 1, t: 10800, m: 32 },
      { a: '10.96.0.40', p: 9999, proto: 'SCTP', sched: 'mh', flags: 0, t: 0, m: 32 },
      { a: 'fd00:10:96::a', p: 443, proto: 'TCP', sched: 'rr', flags: 0, t: 0, m: 128 },
    ]);
    const d = (a: string): string[] => (r.destsAfterAdd[a] ?? []).map((x) => `${x.address}:${x.port} w${x.weight} ${x.forward} f${x.family}`).sort();
    expect(d('10.96.0.1')).toEqual(['10.244.1.5:8443 w1 masq fIPv4', '10.244.2.6:8443 w1 masq fIPv4']);
    expect(d('10.96.0.10')).toEqual(['10.244.1.7:53 w3 masq fIPv4', '10.244.2.8:53 w1 masq fIPv4']);
    expect(d('fd00:10:96::a')).toEqual(['fd00:10:244::5:8443 w1 masq fIPv6']);
    expect(d('10.96.0.20')).toEqual([]);
  });

  it('queues concurrent calls on one socket', () => {
    expect(r.concurrent).toEqual([6, 2, 0x010201, 'EEXIST']);
  });

  it('agrees with ipvsadm -Ln', () => {
    expect(renderOurs(r.servicesAfterAdd, r.destsAfterAdd)).toEqual(ipvsadmLines(r.ipvsadmAfterAdd));
  });

  it('gets one service by identity, null when absent', () => {
    expect(r.getService).toMatchObject({ address: '10.96.0.10', port: 53, protocol: 'UDP', scheduler: 'wrr' });
    expect(r.getMissing).toBeNull();
  });

  it('maps kernel errors to named messages, and benign ones to success on request', () => {
    expect(r.errors).toEqual({
      dupService: 'KP_ERR_NETLINK ipvs: add service 10.96.0.1:443/TCP: EEXIST',
      dupServiceTolerated: null,
      dupDest: 'KP_ERR_NETLINK ipvs: add destination 10.244.1.5:8443 to 10.96.0.1:443/TCP: EEXIST',
      delMissingService: 'KP_ERR_NETLINK ipvs: delete service 10.96.9.9:443/TCP: ESRCH',
      delMissingServiceTolerated: null,
      delMissingDest: 'KP_ERR_NETLINK ipvs: delete destination 10.244.9.9:1 of 10.96.0.1:443/TCP: ENOENT',
      badScheduler: 'KP_ERR_NETLINK ipvs: add service 10.96.9.8:443/TCP: ENOENT',
      batchBenign: [null, null],
    });
  });

  it('edits weights and the scheduler in place, deletes destinations and services', () => {
    expect(r.destsAfterEdit.map((d) => `${d.address} w${d.weight}`).sort()).toEqual(['10.244.1.5 w0', '10.244.2.6 w1']);
    expect(r.dnsAfterEdit.map((d) => `${d.address} w${d.weight}`).sort()).toEqual(['10.244.1.7 w3', '10.244.2.8 w7']);
    expect(r.serviceAfterEdit).toMatchObject({ scheduler: 'wrr', flags: 1, timeout: 600 });
    expect(r.servicesAfterDelete).not.toContain('10.96.0.20:80/TCP');
    expect(r.servicesAfterDelete).toHaveLength(5);
    expect(r.destsAfterDelete.map((d) => d.address)).toEqual(['10.244.1.5']);
    expect(r.destsOfMissing).toEqual([]);
    expect(ipvsadmLines(r.ipvsadmAfterEdit)).toContain('TCP 10.96.0.1:443 wrr persistent 600');
    expect(ipvsadmLines(r.ipvsadmAfterEdit)).toContain('-> 10.244.1.5:8443 Masq 0 0 0');
    expect(ipvsadmLines(r.ipvsadmAfterEdit)).not.toContain('TCP 10.96.0.20:80 sh (sh-port)');
  });

  it('reads and sets the connection timeouts (0 keeps the current value)', () => {
    expect(r.timeoutsBefore).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(r.timeoutsAfter).toEqual({ tcp: 901, tcpFin: 120, udp: 301 });
    expect(r.ipvsadmTimeouts.trim()).toBe('Timeout (tcp tcpfin udp): 901 120 301');
  });

  it('matches every ack of a batch larger than one send, and flushes', () => {
    expect(r.manyAddErrors).toBe(0);
    expect(r.manyListed).toBe(605);
    expect(r.manyDelErrors).toBe(0);
    expect(r.servicesAfterFlush).toBe(0);
  });

  it('creates kube-ipvs0 as a dummy link, idempotently, and deletes it', () => {
    expect(r.linkMissing).toBeNull();
    expect(r.link).toMatchObject({ name: 'kube-ipvs0', kind: 'dummy' });
    expect(r.link.flags & 1).toBe(0); // left down, like upstream
    expect(r.linkAgain.index).toBe(r.link.index);
    expect(r.ipLink).toMatch(/kube-ipvs0: <BROADCAST,NOARP> .* state DOWN/);
    expect(r.ipLink).toContain('dummy');
    expect(r.linkDeleted).toBe(true);
    expect(r.linkGone).toBeNull();
    expect(r.loIndex).toBe(1);
  });

  it('adds, lists and deletes addresses on kube-ipvs0, checked with ip addr', () => {
    expect(r.addrAdd).toEqual([
      { address: '10.96.0.1', changed: true, error: null },
      { address: '10.96.0.10', changed: true, error: null },
      { address: 'fd00:10:96::a', changed: true, error: null },
      { address: '10.96.0.1', changed: false, error: null },
      { address: 'bogus', changed: false, error: 'invalid IP address "bogus"' },
    ]);
    expect(r.addrList).toEqual(['10.96.0.1/32', '10.96.0.10/32', 'fd00:10:96::a/128']);
    const fromIp = [...r.ipAddrAfterAdd.matchAll(/inet6? (\S+)/g)].map((m) => m[1]).sort();
    expect(fromIp).toEqual(r.addrList);
    expect(r.addrDel).toEqual([
      { address: '10.96.0.10', changed: true, error: null },
      { address: '10.96.0.99', changed: false, error: null },
    ]);
    expect(r.addrListAfterDel).toEqual(['10.96.0.1', 'fd00:10:96::a']);
  });
});

describeWith('IPVS and dummy missing from the kernel (IPVS test kernel without modules)', ['uml'], () => {
  it('says so with KP_ERR_KERNEL_MISSING, and names the link error with the kernel ext-ack text', async () => {
    const run = await runInUml({ command: [process.execPath, 'test/support/uml-no-ipvs-driver.ts'], modules: [], autoload: false });
    expect(run.stderr).toBe('');
    expect(run.resultJson).toEqual({
      ipvs: 'KP_ERR_KERNEL_MISSING ipvs: the kernel has no IPVS (generic netlink family "IPVS" not found; modprobe ip_vs)',
      dummy: 'KP_ERR_NETLINK link kube-ipvs0: create dummy: EOPNOTSUPP (Unknown device type)',
    });
  });
});
