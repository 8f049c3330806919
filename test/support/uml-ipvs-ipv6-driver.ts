// Runs inside the IPVS test kernel (test/ipvs-ipv6.test.ts boots it via runInUml): the ipvs mode
// dual-stack, one proxier per family as upstream's NewDualStackProxier, with real traffic over
// IPv6 to ClusterIPs (TCP, UDP) and a NodePort from an off-node client, and IPv4 beside it.
// Pods are namespaces on bridge cbr0 with 10.244.1.x and fd00:10:244:1::x; the client is
// 192.0.2.100 / 2001:db8::100 behind the node (192.0.2.11 / 2001:db8::11). Records what the kernel
// shows (ipvsadm, ipset, ip addr, ip6tables-legacy-save) and the replies into $KPT_UML_RESULT.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createIpvsProxiers } from '../../src/backends/ipvs/io/setup.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { describeError } from '../../src/errors.ts';
import type { Endpoint, IPFamily, ProxyState, ServicePort } from '../../src/model/types.ts';
import { exec } from '../../src/system/exec.ts';
import { recordingLogger } from '../../src/sync/testing/recorders.ts';
import { ep, makeState, svcPort } from '../../src/backends/common/testing/fixtures.ts';
import { tally, tcpRequest, udpRequest } from './topology.ts';
import { addUmlIpv6, buildUmlNode } from './uml-node.ts';
import { cleanupIpvsFamily } from './ipvs-family-cleanup.ts';

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const tryShell = (cmd: string, args: string[]): string => {
  try {
    return sh(cmd, args);
  } catch (err) {
    return `failed: ${describeError(err)}`;
  }
};
const out: Record<string, unknown> = {};
const NODE6 = '2001:db8::11';
const CLIENT6 = '2001:db8::100';
const logger = recordingLogger();

try {
  const node = await buildUmlNode({ podNames: ['pod-1', 'pod-2'], nodeIP: '192.0.2.11', clientIP: '192.0.2.100' });
  const { pods, client } = node;
  const pod6 = await addUmlIpv6(node, NODE6, CLIENT6);

  const base = defaultConfig();
  const config = {
    ...base, iptables: { ...base.iptables, backend: 'legacy' as const }, mode: 'ipvs' as const,
    clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'], detectLocalMode: 'ClusterCIDR' as const,
  };
  const proxiers = await createIpvsProxiers({ config, families: ['IPv4', 'IPv6'], exec, logger, kernelRelease: '6.1.0' });
  const local = (ip: string, port: number): Endpoint => ep(ip, port, { isLocal: true });
  const v6 = {
    web: svcPort('default', 'web6', 'http', { family: 'IPv6', clusterIP: 'fd00:10:96::a', port: 80, nodePort: 30080 }),
    dns: svcPort('kube-system', 'dns6', 'dns', { family: 'IPv6', clusterIP: 'fd00:10:96::35', port: 53, protocol: 'UDP' }),
  };
  const v4 = { web: svcPort('default', 'web4', 'http', { clusterIP: '10.96.0.10', port: 80, nodePort: 30081 }) };
  const stateFor = (family: IPFamily, webEps6: readonly Endpoint[], dnsEps6 = pod6.map((ip) => local(ip, 5354))): ProxyState => {
    const entries: [ServicePort, readonly Endpoint[]][] = family === 'IPv6'
      ? [[v6.web, webEps6], [v6.dns, dnsEps6]]
      : [[v4.web, pods.map((p) => local(p.ip, 8080))]];
    const s = makeState(family, entries);
    return { ...s, node: { ...s.node, name: 'test-node' } };
  };
  const all6 = pod6.map((ip) => local(ip, 8081));
  for (const p of proxiers) {
    try {
      out[`sync${p.family}`] = await p.sync(stateFor(p.family, all6));
    } catch (err) {
      out[`sync${p.family}Error`] = describeError(err);
    }
  }
  out.families = proxiers.map((p) => p.family);
  out.ipvsadm = sh('ipvsadm', ['-Ln']);
  out.addr6 = sh('ip', ['-6', '-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
  out.addr4 = sh('ip', ['-4', '-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
  out.ipsetClusterIP6 = tryShell('ipset', ['list', 'KUBE-6-CLUSTER-IP']);
  out.ipsetNames = sh('ipset', ['list', '-n']);
  out.ip6tables = tryShell('ip6tables-legacy-save', []);

  out.tcp6 = [...tally(await tcpRequest(client, 'fd00:10:96::a', 80, { count: 8 }))];
  out.udp6 = [...tally(await udpRequest(client, 'fd00:10:96::35', 53, { count: 8 }))];
  out.nodePort6 = [...tally(await tcpRequest(client, NODE6, 30080, { count: 8 }))];
  out.nodePort6Sources = (await tcpRequest(client, NODE6, 30080, { count: 2 })).map((r) => (r.ok ? r.source : r.error));
  out.tcp4 = [...tally(await tcpRequest(client, '10.96.0.10', 80, { count: 6 }))];
  out.fromPod6 = [...tally(await tcpRequest(pods[0]?.ns ?? '', 'fd00:10:96::a', 80, { count: 6 }))];
  out.fromPod4 = [...tally(await tcpRequest(pods[0]?.ns ?? '', '10.96.0.10', 80, { count: 6 }))];

  // One IPv6 endpoint leaves: a partial sync of the IPv6 proxier only.
  const p6 = proxiers.find((p) => p.family === 'IPv6');
  if (!p6) throw new Error('no IPv6 proxier');
  const one = all6.slice(0, 1);
  out.change6 = await p6.sync({ ...stateFor('IPv6', one), full: false, changedEndpoints: new Set([v6.web.name]) });
  out.afterChange6 = [...tally(await tcpRequest(client, 'fd00:10:96::a', 80, { count: 6 }))];

  // A UDP endpoint leaves: the conntrack tool deletes IPv6 flows NATed to it (one inserted here,
  // as IPVS holds no connection for it), and not those to the one that stays.
  const flow6 = (sport: number, ep6: string): string[] => ['-I', '-p', 'udp', '-s', CLIENT6, '-d', 'fd00:10:96::35', '--sport', String(sport),
    '--dport', '53', '-r', ep6, '-q', CLIENT6, '--reply-port-src', '5354', '--reply-port-dst', String(sport), '-t', '120'];
  sh('conntrack', flow6(40_200, pod6[1] ?? ''));
  sh('conntrack', flow6(40_201, pod6[0] ?? ''));
  const dnsKept = [local(pod6[0] ?? '', 5354)];
  await p6.sync({
    ...stateFor('IPv6', one, dnsKept), full: false, changedEndpoints: new Set([v6.dns.name]),
    removedEndpoints: new Map([[v6.dns.name, [local(pod6[1] ?? '', 5354)]]]),
  });
  out.conntrack6AfterDnsChange = sh('conntrack', ['-L', '-f', 'ipv6', '-p', 'udp']);

  // Clean-up of the IPv6 proxier leaves the IPv4 one's state alone.
  await cleanupIpvsFamily(exec, 'IPv6', 'legacy', logger);
  out.afterCleanup6 = {
    ipvsadm: sh('ipvsadm', ['-Ln']),
    addr4: tryShell('ip', ['-4', '-o', 'addr', 'show', 'dev', 'kube-ipvs0']),
    ipsets: sh('ipset', ['list', '-n']),
    ip6tables: tryShell('ip6tables-legacy-save', []),
  };
  out.tcp4AfterCleanup6 = [...tally(await tcpRequest(client, '10.96.0.10', 80, { count: 4 }))];
  // Then the IPv4 one's, the last family on kube-ipvs0: the link goes with it.
  await cleanupIpvsFamily(exec, 'IPv4', 'legacy', logger);
  out.linkAfterBothCleanups = tryShell('ip', ['link', 'show', 'kube-ipvs0']);
  out.ipvsAfterBothCleanups = sh('ipvsadm', ['-Ln']);
  for (const p of proxiers) await p.close();
} catch (err) {
  out.fatal = describeError(err);
}
out.logErrors = logger.entries.filter((e) => e.level === 'error' || e.level === 'warn').map((e) => `${e.msg} ${String(e.fields.reason ?? e.fields.err ?? '')}`);
writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out));
process.exit(0);
