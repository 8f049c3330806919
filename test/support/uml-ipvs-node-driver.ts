// Runs inside the IPVS test kernel (test/ipvs-node-traffic.test.ts boots it via runInUml): the
// ipvs mode dual-stack, and traffic from the node itself (the UML root namespace, as the kubelet
// and hostNetwork pods send) to ClusterIPs, externalIPs and LoadBalancer IPs, TCP and UDP, both
// families; the off-node client sends to the same addresses as a control. Records the answering
// pods per case into $KPT_UML_RESULT; assertions stay in the test.
import { writeFileSync } from 'node:fs';
import { createIpvsProxiers } from '../../src/backends/ipvs/io/setup.ts';
import { ep, makeState, svcPort } from '../../src/backends/common/testing/fixtures.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { describeError } from '../../src/errors.ts';
import type { Endpoint, IPFamily, ServicePort } from '../../src/model/types.ts';
import { exec } from '../../src/system/exec.ts';
import { recordingLogger } from '../../src/sync/testing/recorders.ts';
import type { Reply } from './net-client.ts';
import { cleanupIpvsFamily } from './ipvs-family-cleanup.ts';
import { tcpRequest, udpRequest } from './topology.ts';
import { addUmlIpv6, buildUmlNode, nodeRequest } from './uml-node.ts';

const out: Record<string, unknown> = {};
const logger = recordingLogger();
const answers = (rs: readonly Reply[]): string[] => rs.map((r) => (r.ok ? r.pod : `error:${r.error}`)).sort();

/** The addresses of one family: a ClusterIP, an externalIP and an LB IP per protocol. */
const ADDRS = {
  IPv4: { tcp: '10.96.1.10', udp: '10.96.1.53', ext: '203.0.113.10', lb: '198.51.100.10' },
  IPv6: { tcp: 'fd00:10:96::1:a', udp: 'fd00:10:96::1:35', ext: '2001:db8:e::10', lb: '2001:db8:b::10' },
} as const;

try {
  const node = await buildUmlNode({ podNames: ['pod-1', 'pod-2'], nodeIP: '192.0.2.11', clientIP: '192.0.2.100' });
  const pod6 = await addUmlIpv6(node, '2001:db8::11', '2001:db8::100');
  const base = defaultConfig();
  const config = {
    ...base, iptables: { ...base.iptables, backend: 'legacy' as const }, mode: 'ipvs' as const,
    clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'], detectLocalMode: 'ClusterCIDR' as const,
  };
  const proxiers = await createIpvsProxiers({ config, families: ['IPv4', 'IPv6'], exec, logger, kernelRelease: '6.1.0' });
  const podIPs = (family: IPFamily): string[] => (family === 'IPv4' ? node.pods.map((p) => p.ip) : pod6);
  for (const p of proxiers) {
    const a = ADDRS[p.family];
    const [tcpPort, udpPort] = p.family === 'IPv4' ? [8080, 5353] : [8081, 5354];
    const eps = (port: number): Endpoint[] => podIPs(p.family).map((ip) => ep(ip, port, { isLocal: true }));
    const over = { family: p.family, externalIPs: [a.ext], loadBalancerVIPs: [a.lb] };
    const web = svcPort('default', 'node-web', 'http', { ...over, clusterIP: a.tcp, port: 80 });
    const dns = svcPort('default', 'node-dns', 'dns', { ...over, clusterIP: a.udp, port: 53, protocol: 'UDP' });
    const entries: [ServicePort, readonly Endpoint[]][] = [[web, eps(tcpPort)], [dns, eps(udpPort)]];
    const s = makeState(p.family, entries);
    try {
      await p.sync({ ...s, node: { ...s.node, name: 'test-node' } });
    } catch (err) {
      out[`sync${p.family}Error`] = describeError(err);
    }
  }
  for (const family of ['IPv4', 'IPv6'] as const) {
    const a = ADDRS[family];
    const fromNode: Record<string, string[]> = {};
    const fromClient: Record<string, string[]> = {};
    for (const [name, ip] of [['clusterIP', a.tcp], ['externalIP', a.ext], ['loadBalancerIP', a.lb]] as const) {
      fromNode[`${name} tcp`] = answers(await nodeRequest('tcp', ip, 80, 6));
      fromClient[`${name} tcp`] = answers(await tcpRequest(node.client, ip, 80, { count: 2 }));
    }
    for (const [name, ip] of [['clusterIP', a.udp], ['externalIP', a.ext], ['loadBalancerIP', a.lb]] as const) {
      fromNode[`${name} udp`] = answers(await nodeRequest('udp', ip, 53, 6));
      fromClient[`${name} udp`] = answers(await udpRequest(node.client, ip, 53, { count: 2 }));
    }
    out[`fromNode${family}`] = fromNode;
    out[`fromClient${family}`] = fromClient;
  }
  for (const family of ['IPv6', 'IPv4'] as const) await cleanupIpvsFamily(exec, family, 'legacy', logger);
  for (const p of proxiers) await p.close();
} catch (err) {
  out.fatal = describeError(err);
}
out.logErrors = logger.entries.filter((e) => e.level === 'error' || e.level === 'warn').map((e) => `${e.msg} ${String(e.fields.reason ?? e.fields.err ?? '')}`);
writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out));
process.exit(0);
