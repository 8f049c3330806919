// Runs inside the IPVS test kernel (test/ipvs-conntrack.test.ts boots it via runInUml): real UDP
// flows through IPVS while endpoints change, once with the proxier's conntrack clean-up (the real
// conntrack tool) and once without (a Conntrack that deletes nothing: the control that shows what
// the clean-up changes). A client keeps one source port (one flow) per service; the driver records
// which pod answered each datagram, the deletions asked for and the conntrack table into
// $KPT_UML_RESULT. Assertions stay in the test.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIpvsProxiers } from '../../src/backends/ipvs/io/setup.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { describeError } from '../../src/errors.ts';
import type { Endpoint, ProxyState, ServicePort } from '../../src/model/types.ts';
import { createConntrack, type Conntrack } from '../../src/system/conntrack.ts';
import { exec } from '../../src/system/exec.ts';
import { recordingLogger } from '../../src/sync/testing/recorders.ts';
import { ep, makeState, svcPort } from '../../src/backends/common/testing/fixtures.ts';
import { spawnIn, type NsProcess } from './netns.ts';
import { buildUmlNode } from './uml-node.ts';
import { cleanupIpvsFamily } from './ipvs-family-cleanup.ts';

const UDP_CLIENT = join(fileURLToPath(new URL('.', import.meta.url)), 'uml-ipvs-udp-client.ts');
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const out: Record<string, unknown> = {};
const base = defaultConfig();
const config = { ...base, iptables: { ...base.iptables, backend: 'legacy' as const }, mode: 'ipvs' as const, clusterCIDRs: ['10.244.0.0/16'], detectLocalMode: 'ClusterCIDR' as const };
const logger = recordingLogger();

/** Asks one client for `count` datagrams and returns the answering pods (or `timeout`). */
let tagSeq = 0;
async function send(c: NsProcess, count: number): Promise<string[]> {
  const tag = `t${++tagSeq}`;
  c.write(`${tag} ${count}\n`);
  const line = await c.waitForLine((l) => l.startsWith(`${tag} `), 60_000);
  return JSON.parse(line.slice(tag.length + 1)) as string[];
}

try {
  const { pods, client } = await buildUmlNode({ podNames: ['pod-1', 'pod-2'], nodeIP: '192.0.2.11', clientIP: '192.0.2.100' });
  const ipOf = (name: string): string => pods.find((p) => p.name === name)?.ip ?? '';
  const all = pods.map((p) => ep(p.ip, 5353, { isLocal: true }));

  /** One run: a service losing the endpoint a flow uses, and a service gaining its first endpoint. */
  const phase = async (label: string, svcIP: string, firstIP: string, srcPort: number, conntrack: Conntrack): Promise<void> => {
    const asked: unknown[] = [];
    const recording: Conntrack = { clear: async (f, p, filter) => (asked.push(filter), conntrack.clear(f, p, filter)) };
    const [proxier] = await createIpvsProxiers({ config, families: ['IPv4'], exec, logger, kernelRelease: '6.1.0', conntrack: recording });
    if (!proxier) throw new Error('no proxier');
    const dns = svcPort('kube-system', `dns-${label}`, 'dns', { clusterIP: svcIP, port: 53, protocol: 'UDP' });
    const first = svcPort('kube-system', `first-${label}`, 'dns', { clusterIP: firstIP, port: 53, protocol: 'UDP' });
    const state = (dnsEps: readonly Endpoint[], firstEps: readonly Endpoint[], over: Partial<ProxyState> = {}): ProxyState =>
      makeState('IPv4', [[dns, dnsEps] as [ServicePort, readonly Endpoint[]], [first, firstEps]], over);
    const flow = spawnIn(client, process.execPath, [UDP_CLIENT, svcIP, '53', String(srcPort)], { stdin: true });
    const firstFlow = spawnIn(client, process.execPath, [UDP_CLIENT, firstIP, '53', String(srcPort + 1)], { stdin: true });
    await flow.waitForLine((l) => l === 'ready', 20_000);
    await firstFlow.waitForLine((l) => l === 'ready', 20_000);
    const r: Record<string, unknown> = {};
    await proxier.sync(state(all, []));
    r.before = await send(flow, 4);
    r.firstBefore = await send(firstFlow, 2);
    const used = (r.before as string[])[0] ?? '';
    const kept = all.filter((e) => e.ip !== ipOf(used));
    // Two entries the kernel has no IPVS connection for (inserted with conntrack -I, as a flow
    // NATed before a restart or by another path would be): one NATed to the endpoint that goes,
    // one un-NATed to the service that had no endpoint. Only the clean-up can remove these.
    const insert = (dst: string, replySrc: string, sport: number): string =>
      sh('conntrack', ['-I', '-p', 'udp', '-s', '192.0.2.100', '-d', dst, '--sport', String(sport), '--dport', '53',
        '-r', replySrc, '-q', '192.0.2.100', '--reply-port-src', replySrc === dst ? '53' : '5353', '--reply-port-dst', String(sport), '-t', '120']);
    insert(svcIP, ipOf(used), srcPort + 100);
    insert(firstIP, firstIP, srcPort + 101);
    r.conntrackBefore = sh('conntrack', ['-L', '-p', 'udp']);
    // What conntrack-tools counts as DNATed among them (the IPVS flow is not: no DST_NAT status).
    r.dstNatBefore = sh('conntrack', ['-L', '-p', 'udp', '--dst-nat']);
    await proxier.sync(state(kept, [ep(ipOf('pod-2'), 5353, { isLocal: true })], {
      full: false,
      changedEndpoints: new Set([dns.name, first.name]),
      removedEndpoints: new Map([[dns.name, all.filter((e) => e.ip === ipOf(used))]]),
    }));
    r.conntrackAfter = sh('conntrack', ['-L', '-p', 'udp']);
    r.ipvsAfter = sh('ipvsadm', ['-Ln', '-u', `${svcIP}:53`]);
    r.after = await send(flow, 6);
    r.firstAfter = await send(firstFlow, 4);
    r.used = used;
    r.asked = asked;
    out[label] = r;
    await flow.stop();
    await firstFlow.stop();
    await cleanupIpvsFamily(exec, 'IPv4', 'legacy', logger);
    await proxier.close();
  };

  out.conntrackVersion = sh('conntrack', ['--version']).trim();
  await phase('control', '10.96.0.53', '10.96.0.54', 40_001, { clear: async () => 0 });
  await phase('cleaned', '10.96.0.63', '10.96.0.64', 40_011, createConntrack(exec));
} catch (err) {
  out.fatal = describeError(err);
}
out.logErrors = logger.entries.filter((e) => e.level === 'error' || e.level === 'warn').map((e) => `${e.msg} ${String(e.fields.reason ?? e.fields.err ?? '')}`);
writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out));
process.exit(0);
