// Runs inside the IPVS test kernel (test/ipvs-mode.test.ts boots it via runInUml): the UML
// kernel's root namespace plays the node; pods and an off-node client are namespaces on veths.
// Drives the ipvs-mode Proxier through syncs and records what the kernel shows (ipvsadm, ipset,
// ip addr, iptables-legacy-save), what our counters say, and real traffic, into $KPT_UML_RESULT.
// Assertions stay in the test.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { defaultConfig } from '../../src/config/defaults.ts';
import { describeError } from '../../src/errors.ts';
import type { Endpoint, ProxyState, ServicePort } from '../../src/model/types.ts';
import { createIpvsProxiers } from '../../src/backends/ipvs/io/setup.ts';
import type { IpvsProxier } from '../../src/backends/ipvs/proxier.ts';
import { exec } from '../../src/system/exec.ts';
import { recordingLogger } from '../../src/sync/testing/recorders.ts';
import { ep, makeState, svcPort } from '../../src/backends/common/testing/fixtures.ts';
import { tally, tcpRequest, udpRequest } from './topology.ts';
import { buildUmlNode } from './uml-node.ts';
import { cleanupIpvsFamily } from './ipvs-family-cleanup.ts';

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const out: Record<string, unknown> = {};
const NODE_IP = '192.0.2.11';
const CLIENT_IP = '192.0.2.100';

// Network: the node with pods pod-1..3 and an off-node client (test/support/uml-node.ts).
const { pods, client } = await buildUmlNode({ podNames: ['pod-1', 'pod-2', 'pod-3'], nodeIP: NODE_IP, clientIP: CLIENT_IP });

// The Services.
const local = (ip: string): Endpoint => ep(ip, 8080, { isLocal: true });
const web = svcPort('default', 'web', 'http', { clusterIP: '10.96.0.10', port: 80, nodePort: 30080 });
const dns = svcPort('kube-system', 'dns', 'dns', { clusterIP: '10.96.0.53', port: 53, protocol: 'UDP' });
const sticky = svcPort('default', 'sticky', '', { clusterIP: '10.96.0.20', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 } });
const drain = svcPort('default', 'drain', '', { clusterIP: '10.96.0.30' });
const allPods = pods.map((p) => local(p.ip));
const state = (webEps: readonly Endpoint[], drainEps: readonly Endpoint[], over: Partial<ProxyState> = {}): ProxyState => {
  const entries: [ServicePort, readonly Endpoint[]][] = [
    [web, webEps],
    [dns, pods.map((p) => ep(p.ip, 5353, { isLocal: true }))],
    [sticky, allPods],
    [drain, drainEps],
  ];
  const s = makeState('IPv4', entries, over);
  return { ...s, node: { ...s.node, name: 'test-node' } };
};

const base = defaultConfig();
// The UML kernel has no nf_tables, yet iptables-nft-save succeeds there, so auto-detection picks nft: force legacy.
const config = { ...base, iptables: { ...base.iptables, backend: 'legacy' as const }, mode: 'ipvs' as const, clusterCIDRs: ['10.244.0.0/16'], detectLocalMode: 'ClusterCIDR' as const };
const logger = recordingLogger();
const make = async (): Promise<IpvsProxier> => {
  const [p] = await createIpvsProxiers({ config, families: ['IPv4'], exec, logger, kernelRelease: '6.1.0' });
  if (!p) throw new Error('no proxier');
  return p;
};
const snapshot = (): Record<string, string> => ({
  ipvsadm: sh('ipvsadm', ['-Ln']),
  ipsetClusterIP: sh('ipset', ['list', 'KUBE-CLUSTER-IP']),
  ipsetNames: sh('ipset', ['list', '-n']),
  ipsetIps: sh('ipset', ['list', 'KUBE-IPVS-IPS']),
  ipsetNodePort: sh('ipset', ['list', 'KUBE-NODE-PORT-TCP']),
  addr: sh('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0']),
  link: sh('ip', ['-d', 'link', 'show', 'kube-ipvs0']),
  iptables: sh('iptables-legacy-save', []),
});
const step = async (name: string, p: IpvsProxier, s: ProxyState): Promise<void> => {
  const before = p.netlinkStats;
  try {
    out[`${name}Result`] = await p.sync(s);
  } catch (err) {
    out[`${name}Error`] = describeError(err);
  }
  const after = p.netlinkStats;
  out[name] = { ...p.lastSync, changes: after.ipvsChanges - before.ipvsChanges, dumps: after.ipvsDumps - before.ipvsDumps };
};

try {
  let proxier = await make();
  await step('sync1', proxier, state(allPods, [local(pods[0]?.ip ?? '')]));
  out.after1 = snapshot();
  out.sysctls = Object.fromEntries(['net/ipv4/vs/conntrack', 'net/ipv4/vs/expire_nodest_conn', 'net/ipv4/vs/expire_quiescent_template', 'net/ipv4/ip_forward'].map((k) => [k, sh('cat', [`/proc/sys/${k}`]).trim()]));
  await step('sync2', proxier, state(allPods, [local(pods[0]?.ip ?? '')], { full: false }));

  // Traffic: from the off-node client and from a pod, to ClusterIPs and the NodePort.
  out.trafficWeb = [...tally(await tcpRequest(client, '10.96.0.10', 80, { count: 30 }))];
  out.trafficDns = [...tally(await udpRequest(client, '10.96.0.53', 53, { count: 12 }))];
  out.trafficNodePort = [...tally(await tcpRequest(client, NODE_IP, 30080, { count: 12 }))];
  out.trafficSticky = [...tally(await tcpRequest(client, '10.96.0.20', 80, { count: 10 }))];
  out.nodePortSources = (await tcpRequest(client, NODE_IP, 30080, { count: 1 })).map((r) => (r.ok ? r.source : r.error));
  out.trafficDrain = [...tally(await tcpRequest(client, '10.96.0.30', 80, { count: 2 }))];

  // Restart: a new proxier finds everything programmed.
  await proxier.close();
  proxier = await make();
  await step('restart', proxier, state(allPods, [local(pods[0]?.ip ?? '')]));

  // One endpoint leaves web: O(1) messages, whatever the number of Services.
  const two = allPods.slice(0, 2);
  await step('endpointChange', proxier, state(two, [local(pods[0]?.ip ?? '')], { full: false, changedEndpoints: new Set([web.name]) }));
  out.afterChange = sh('ipvsadm', ['-Ln']);
  out.trafficAfterChange = [...tally(await tcpRequest(client, '10.96.0.10', 80, { count: 12 }))];

  // Graceful termination: drain's only endpoint served connections (now in TIME_WAIT: InActConn).
  await step('drain', proxier, state(two, [], { full: false, changedEndpoints: new Set([drain.name]) }));
  out.afterDrain = sh('ipvsadm', ['-Ln', '-t', '10.96.0.30:80']);
  out.pendingAfterDrain = [...proxier.pendingDeletions.keys()];
  out.recheckDeleted = await proxier.recheckPending();
  out.pendingAfterRecheck = proxier.pendingDeletions.size;
  // UDP real servers go at once even with connection entries.
  await step('udpRemove', proxier, { ...state(two, []), full: false, changedEndpoints: new Set([dns.name]), endpoints: new Map([...state(two, []).endpoints].map(([k, v]) => [k, k === dns.name ? v.slice(0, 1) : v])) });
  out.afterUdpRemove = sh('ipvsadm', ['-Ln', '-u', '10.96.0.53:53']);

  // Someone deletes a virtual server behind our back: the next full sync repairs it.
  sh('ipvsadm', ['-D', '-t', '10.96.0.20:80']);
  await step('repair', proxier, state(two, []));
  out.afterRepair = sh('ipvsadm', ['-Ln', '-t', '10.96.0.20:80']);

  // A foreign virtual server outside our addresses survives clean-up.
  sh('ipvsadm', ['-A', '-t', '198.51.100.1:80', '-s', 'rr']);
  await cleanupIpvsFamily(exec, 'IPv4', 'legacy', logger);
  out.afterCleanup = {
    ipvsadm: sh('ipvsadm', ['-Ln']),
    link: (() => { try { return sh('ip', ['link', 'show', 'kube-ipvs0']); } catch (err) { return `absent: ${describeError(err).slice(0, 60)}`; } })(),
    ipsets: sh('ipset', ['list', '-n']),
    iptables: sh('iptables-legacy-save', []),
  };
  await proxier.close();
} catch (err) {
  out.fatal = describeError(err);
}
out.logErrors = logger.entries.filter((e) => e.level === 'error' || e.level === 'warn').map((e) => `${e.msg} ${String(e.fields.reason ?? '')}`);
writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out));
process.exit(0);
