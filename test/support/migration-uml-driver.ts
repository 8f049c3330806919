// Runs inside the IPVS test kernel (test/migration-uml.test.ts boots it via runInUml): the UML
// kernel's root namespace is the node, pods and an off-node client are namespaces on veths. Runs
// the REAL daemon from a manifests directory in iptables mode, stops it (SIGTERM: rules stay),
// starts it in ipvs mode, then in iptables mode again, while two request loops (ClusterIP and
// NodePort, a new connection each) run from the client; records every failed request, the kernel
// state after each switch and the daemon logs into $KPT_UML_RESULT. Assertions stay in the test.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from '../../src/errors.ts';
import { webNodePortManifest } from './migration-manifests.ts';
import { execIn, spawnIn, type NsProcess } from './netns.ts';
import { buildUmlNode } from './uml-node.ts';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const DAEMON_BIN = here('../../bin/kube-proxy-ts.js');
const LOAD_CLIENT = here('./daemon-load-client.ts');
const sh = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return `error: ${describeError(err)}`;
  }
};
const out: Record<string, unknown> = {};
const resultFile = process.env.KPT_UML_RESULT ?? '/tmp/kpt-migration-result.json';
const NODE = 'node-a';
const NODE_IP = '192.0.2.11';
const CLIENT_IP = '192.0.2.100';
// /run is a tmpfs private to the guest: no other run can hold this lock.
process.env.XTABLES_LOCKFILE = '/run/kpt-migration-xtables.lock';

// Network: the node with pods web-1, web-2 and an off-node client (test/support/uml-node.ts).
sh('ip', ['link', 'set', 'lo', 'up']);
writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
const { pods, client } = await buildUmlNode({ podNames: ['web-1', 'web-2'], nodeIP: NODE_IP, clientIP: CLIENT_IP });
// When the iptables mode deletes the ipvs mode's virtual servers, the kernel (>= 5.9, with
// expire_nodest_conn=1) expires all IPVS connection entries at once, and each one deletes the
// conntrack entry of its tuple (client address:port -> virtual address:port). A loop here opens
// ~100 connections a second from one address, so with kernel-chosen source ports the connection in
// flight at that instant (now through the iptables DNAT) often reuses the tuple of an ipvs-mode
// connection still in IPVS's 2-minute TIME_WAIT: its conntrack entry goes, its reply finds no NAT
// binding and the request hangs (seen about one run in seven; docs/operations.md, Limits). That is
// a single client churning tens of thousands of connections, not the switch: each loop binds its
// source ports from one range from the ipvs daemon's start until its virtual servers are gone and
// from another one otherwise, each range taken in turn, so the connections in flight at the flush
// never reuse a tuple IPVS holds. KPT_MIGRATION_PORTS=kernel lets the kernel choose (shows the limit).
const KERNEL_PORTS = process.env.KPT_MIGRATION_PORTS === 'kernel';
if (KERNEL_PORTS) await execIn(client, 'sysctl', ['-w', 'net.ipv4.ip_local_port_range=1024 65000']);
// Disjoint per loop as well: the two loops reach the same pods, and IPVS finds a reply's entry by
// client address:port and pod alone.
/** Each loop's 32000 ports: the first half while IPVS may see its connections, the second half otherwise. */
const portRange = (load: number, ipvsEra: boolean): string => {
  const lo = 1024 + load * 32_000 + (ipvsEra ? 0 : 16_000);
  return `ports ${lo} ${lo + 15_999}\n`;
};
/** Scenario repetitions (ipvs → iptables) in one boot, to look for rare failures; the test runs one. */
const CYCLES = Number(process.env.KPT_MIGRATION_CYCLES ?? '1');

// The cluster: one NodePort Service with both pods.
const manifests = join(dirname(resultFile), 'manifests');
mkdirSync(manifests, { recursive: true });
writeFileSync(join(manifests, 'web.yaml'), webNodePortManifest(NODE, pods.map((p) => p.ip)));

interface Daemon { child: ChildProcess; log: () => string; exited: Promise<number | string> }
function startDaemon(mode: string): Daemon {
  const child = spawn(process.execPath, [
    DAEMON_BIN, '--manifests', manifests, '--hostname-override', NODE, '--proxy-mode', mode, '--cluster-cidr', '10.244.0.0/16',
    '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (b: Buffer) => (log += b.toString('utf8')));
  child.stderr?.on('data', (b: Buffer) => (log += b.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, log: () => log, exited };
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Healthy and one sync done (the leftovers go inside that first sync, before the timestamp is set). */
async function waitReady(d: Daemon): Promise<void> {
  await until('daemon ready', 150_000, async () => {
    if (d.child.exitCode !== null) throw new Error(`daemon exited ${d.child.exitCode}:\n${d.log()}`);
    try {
      const m = await (await fetch('http://127.0.0.1:10249/metrics')).text();
      const ts = /^kubeproxy_sync_proxy_rules_last_timestamp_seconds(?:\{[^}]*\})? (\S+)/m.exec(m)?.[1];
      return Number(ts ?? 0) > 0 ? true : undefined;
    } catch (err) {
      void err; // not listening yet
      return undefined;
    }
  });
}

interface Load { p: NsProcess; count: () => number }
const events: { at: number; what: string }[] = [];
/** Each event with the number of IPVS connection entries then (gone at once when the virtual servers go). */
const mark = (what: string): void => {
  events.push({ at: Date.now(), what: `${what} (ipvs conns ${sh('cat', ['/proc/net/ip_vs_conn']).split('\n').length - 2})` });
};
/** What the kernel holds for a stalled or failed request's source port, taken at once (entries expire). */
const snapshots: { at: number; line: string; ipvs: string[]; conntrack: string[] }[] = [];
const shAsync = (cmd: string, args: string[]): Promise<string> => new Promise((resolve) => {
  execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout) => resolve(err ? `error: ${describeError(err)}` : stdout));
});
async function snapshot(line: string): Promise<void> {
  const port = Number(/port (\d+)/.exec(line)?.[1] ?? 0);
  if (port === 0 || snapshots.length >= 40) return;
  const at = Date.now();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const [conn, ct] = await Promise.all([shAsync('cat', ['/proc/net/ip_vs_conn']), shAsync('conntrack', ['-L', '-p', 'tcp'])]);
  snapshots.push({
    at, line,
    ipvs: conn.split('\n').filter((l) => l.split(/\s+/)[2] === hex),
    conntrack: ct.split('\n').filter((l) => l.includes(`port=${port} `)),
  });
}
function startLoad(ip: string, port: number, i: number): Load {
  // 10 s per request: IPVS may drop the SYN of a reused source port and the client retransmits
  // after 1 s, then 3 s; that is a slow request (reported), not a failed one.
  const p = spawnIn(client, process.execPath, [LOAD_CLIENT, ip, String(port), '10000'], { stdin: true });
  if (!KERNEL_PORTS) p.write(portRange(i, false));
  let pending = '';
  p.child.stdout?.on('data', (b: Buffer) => {
    const lines = (pending + b.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (/^failed |^stalled .* connected$/.test(line)) void snapshot(`load ${i} ${line}`);
  });
  return { p, count: () => Number(/count (\d+)\n(?!.*count)/s.exec(p.output())?.[1] ?? 0) };
}
const setEra = (ipvsEra: boolean): void => {
  mark(ipvsEra ? 'ports: ipvs era' : 'ports: iptables era');
  if (!KERNEL_PORTS) for (const [i, l] of loads.entries()) l.p.write(portRange(i, ipvsEra));
};
/** Wait for `n` more requests on every loop, so each phase really carries traffic. */
async function moreRequests(loads: Load[], n: number): Promise<void> {
  for (const l of loads) {
    const target = Math.ceil((l.count() + n) / 10) * 10;
    await l.p.waitForLine((line) => line === `count ${target}`, 120_000);
  }
}

const kernel = (): Record<string, string> => ({
  nat: sh('iptables-legacy-save', ['-t', 'nat']),
  filter: sh('iptables-legacy-save', ['-t', 'filter']),
  mangle: sh('iptables-legacy-save', ['-t', 'mangle']),
  ipvsadm: sh('ipvsadm', ['-Ln']),
  link: sh('ip', ['-o', 'link', 'show']),
  ipsets: sh('ipset', ['list', '-n']),
});

const logs: string[] = [];
const loads: Load[] = [];
const exits: (number | string)[] = [];
let daemon: Daemon | undefined;
try {
  mark('start iptables');
  daemon = startDaemon('iptables');
  await waitReady(daemon);
  mark('ready iptables');
  out.iptables1 = kernel();
  loads.push(startLoad('10.96.0.10', 80, 0), startLoad(NODE_IP, 30080, 1));
  await moreRequests(loads, 20);

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    for (const [i, entering] of ['ipvs', 'iptables'].entries()) {
      const old: Daemon = daemon;
      // From the ipvs daemon's start until its virtual servers are gone, IPVS may see a connection.
      if (entering === 'ipvs') setEra(true);
      mark(`sigterm ${entering === 'ipvs' ? 'iptables' : 'ipvs'}`);
      old.child.kill('SIGTERM');
      exits.push(await old.exited);
      logs.push(old.log());
      daemon = undefined;
      await moreRequests(loads, 10); // the old mode's rules alone, no daemon running
      mark(`start ${entering}`);
      const next = startDaemon(entering);
      daemon = next;
      await waitReady(next);
      mark(`ready ${entering}`);
      // Every family's first sync (and its leftover clean-up), not only the first family's.
      if (entering === 'iptables') {
        await until('ipvs sets gone', 120_000, async () => (sh('ipset', ['list', '-n']).includes('KUBE-') ? undefined : true));
        mark('ipvs leftovers gone');
        setEra(false);
      }
      if (cycle === 0) {
        out[`${entering}${i + 1}`] = kernel();
        out[`counts${i + 1}`] = loads.map((l) => l.count());
      }
      await moreRequests(loads, 50);
    }
  }
  mark('sigterm iptables');
  daemon.child.kill('SIGTERM');
  exits.push(await daemon.exited);
  logs.push(daemon.log());
  daemon = undefined;
  out.loads = [];
  for (const l of loads) {
    l.p.write('stop\n');
    (out.loads as unknown[]).push(JSON.parse(await l.p.waitForLine((line) => line.startsWith('{'), 30_000)) as unknown);
  }
  // Give pending snapshots a moment to land.
  await new Promise((r) => setTimeout(r, 3000));
} catch (err) {
  out.fatal = describeError(err);
  if (daemon !== undefined) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    logs.push(daemon.log());
  }
} finally {
  for (const l of loads) await l.p.stop();
  [out.exit0, out.exit1, out.exit2] = [exits[0], exits[1], exits.at(-1)];
  out.exits = exits;
  out.events = events;
  out.snapshots = snapshots;
  out.logs = logs;
  writeFileSync(resultFile, JSON.stringify(out));
}
process.exit(0);
