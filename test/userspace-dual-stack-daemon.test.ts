// The userspace mode dual-stack through the real daemon's wiring: with bindAddress unspecified,
// one proxier per node family (IPv4 and IPv6 listeners, ip6tables portals, a NodePort claim per
// family), so a RequireDualStack Service answers on both families from a pod, from the node itself
// and from outside. test/userspace-ipv6.test.ts covers the proxier alone; this covers main.ts and
// src/wiring/proxiers.ts choosing the families.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HEALTHZ, METRICS, pollUntil, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tcpRequest, udpRequest, type Topology } from './support/topology.ts';

function manifests(ip4: string, ip6: string): string {
  const slice = (family: 'IPv4' | 'IPv6', ip: string): string => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-${family}, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: ${family}
endpoints: [{ addresses: ["${ip}"], conditions: { ready: true }, nodeName: node-1 }]
ports: [{ name: http, port: 80, protocol: TCP }, { name: dns, port: 53, protocol: UDP }]
`;
  return `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: NodePort
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10, "fd00:10:96::10"]
  ports:
  - { name: http, port: 80, protocol: TCP, targetPort: 80, nodePort: 30080 }
  - { name: dns, port: 53, protocol: UDP, targetPort: 53, nodePort: 30053 }
${slice('IPv4', ip4)}${slice('IPv6', ip6)}`;
}

describeWith('userspace mode dual-stack through the daemon', ['root', 'iptables'], () => {
  let topo: Topology | undefined;
  let daemon: Daemon | undefined;
  let dir = '';
  let restoreLock: (() => void) | undefined;

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    topo = await buildTopology({ ipv6: true, nodes: [{ name: 'node-1', pods: [{ name: 'web-1' }, { name: 'client-pod', tcpPorts: [], udpPorts: [] }] }] });
    const web = topo.pod('web-1');
    dir = mkdtempSync(join(tmpdir(), 'kpt-us-dual-'));
    writeFileSync(join(dir, 'web.yaml'), manifests(web.ip, web.ip6 ?? ''));
    daemon = startDaemon(topo.node('node-1').ns, [
      '--manifests', dir, '--hostname-override', 'node-1', '--proxy-mode', 'userspace',
      '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56', '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);
    await waitReady(daemon);
  }, 120_000);
  afterAll(async () => {
    await daemon?.stop();
    await topo?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
    restoreLock?.();
  });

  const t = (): Topology => {
    if (!topo) throw new Error('no topology');
    return topo;
  };

  it.each([
    ['IPv6 ClusterIP from a pod', () => tcpRequest(t().pod('client-pod').ns, 'fd00:10:96::10', 80, { count: 3 })],
    ['IPv6 ClusterIP UDP from a pod', () => udpRequest(t().pod('client-pod').ns, 'fd00:10:96::10', 53, { count: 3 })],
    ['IPv6 NodePort from outside', () => tcpRequest(t().client.ns, t().node('node-1').ip6 ?? '', 30080, { count: 3 })],
    ['IPv6 ClusterIP from the node itself', () => tcpRequest(t().node('node-1').ns, 'fd00:10:96::10', 80, { count: 3 })],
    ['IPv4 ClusterIP from a pod', () => tcpRequest(t().pod('client-pod').ns, '10.96.0.10', 80, { count: 3 })],
    ['IPv4 NodePort from outside', () => tcpRequest(t().client.ns, t().node('node-1').ip, 30080, { count: 3 })],
  ])('%s reaches the pod', async (_label, send) => {
    // The IPv6 proxier syncs just after the IPv4 one: poll until its portals answer.
    const replies = await pollUntil('all replies ok', 20_000, async () => {
      const r = await send();
      return r.every((x) => x.ok) ? r : undefined;
    });
    expect(replies.map((r) => (r.ok ? r.pod : 'failed'))).toEqual(['web-1', 'web-1', 'web-1']);
  });

  it('claims the NodePorts on both families and writes ip6tables portals', async () => {
    const ns = t().node('node-1').ns;
    const listening = (await execIn(ns, 'ss', ['-H', '-ltun'])).stdout;
    expect(listening).toMatch(/0\.0\.0\.0:30080/);
    expect(listening).toMatch(/\[::\]:30080/);
    expect(listening).toMatch(/\[::\]:30053/);
    const saved = (await execIn(ns, 'ip6tables-nft-save', ['-t', 'nat'])).stdout + (await execIn(ns, 'ip6tables-legacy-save', ['-t', 'nat'])).stdout;
    expect(saved).toMatch(/KUBE-PORTALS-CONTAINER.*-d fd00:10:96::10\/128/);
  });
});
