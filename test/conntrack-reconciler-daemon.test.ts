// The UDP conntrack reconciler through the real daemon, both families (issue 13): the iptables
// mode serves a dual-stack UDP Service; long-lived clients (one source port each) talk to pod-a;
// the daemon stops, the EndpointSlices move to pod-b, and the restarted daemon's first sync
// deletes the stale flows (it has no previous state to diff), so the next datagrams reach pod-b;
// kubeproxy_conntrack_reconciler_deleted_entries_total counts them per family.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HEALTHZ, METRICS, httpGetIn, metricValue, startDaemon, usePrivateXtablesLock, waitAllFamiliesReady, waitReady, type Daemon } from './support/daemon.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, sysctlIn, type Topology } from './support/topology.ts';
import { openUdpFlow, type UdpFlow } from './support/udp-flow.ts';

const CLUSTER = { IPv4: '10.96.0.53', IPv6: 'fd00:10:96::53' } as const;

function manifests(ip4: string, ip6: string): string {
  const slice = (family: 'IPv4' | 'IPv6', ip: string): string => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: dns-${family}, namespace: default, labels: { kubernetes.io/service-name: dns } }
addressType: ${family}
endpoints: [{ addresses: ["${ip}"], conditions: { ready: true }, nodeName: node-1 }]
ports: [{ name: dns, port: 53, protocol: UDP }]
`;
  return `apiVersion: v1
kind: Service
metadata: { name: dns, namespace: default }
spec:
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: ${CLUSTER.IPv4}
  clusterIPs: [${CLUSTER.IPv4}, "${CLUSTER.IPv6}"]
  ports: [{ name: dns, port: 53, protocol: UDP, targetPort: 53 }]
${slice('IPv4', ip4)}${slice('IPv6', ip6)}`;
}

describeWith('UDP conntrack reconciler through the daemon (both families)', ['root', 'iptables', 'conntrack'], () => {
  let topo: Topology | undefined;
  let daemon: Daemon | undefined;
  let dir = '';
  let restoreLock: (() => void) | undefined;
  const flows: UdpFlow[] = [];
  const t = (): Topology => {
    if (!topo) throw new Error('no topology');
    return topo;
  };
  const write = (pod: string): void => writeFileSync(join(dir, 'dns.yaml'), manifests(t().pod(pod).ip, t().pod(pod).ip6 ?? ''));
  const start = (): Daemon =>
    startDaemon(t().node('node-1').ns, [
      '--manifests', dir, '--hostname-override', 'node-1', '--proxy-mode', 'iptables', '--iptables-backend', 'nft',
      '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56', '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    topo = await buildTopology({ ipv6: true, nodes: [{ name: 'node-1', pods: [{ name: 'client', tcpPorts: [], udpPorts: [] }, { name: 'pod-a' }, { name: 'pod-b' }] }] });
    // Flows outlive the test: one gone was deleted, not expired.
    await sysctlIn(t().node('node-1').ns, 'net.netfilter.nf_conntrack_udp_timeout', '600');
    dir = mkdtempSync(join(tmpdir(), 'kpt-reconciler-'));
    write('pod-a');
    daemon = start();
    await waitReady(daemon);
  }, 120_000);
  afterAll(async () => {
    for (const f of flows) await f.stop();
    await daemon?.stop();
    await topo?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
    restoreLock?.();
  });

  it('moves both families\' established flows to the new endpoint after a restart, and counts the deletions', async () => {
    for (const [family, ip] of Object.entries(CLUSTER)) {
      const f = await openUdpFlow(t().pod('client').ns, ip, 53, family === 'IPv4' ? 41001 : 41002);
      flows.push(f);
      // The IPv6 proxier may sync a moment after the IPv4 one: retry the first datagram.
      let first: string[] = [];
      for (let i = 0; i < 20 && first[0] !== 'pod-a'; i++) first = await f.send(1);
      expect(first, `${family} before`).toEqual(['pod-a']);
    }
    await daemon?.stop();
    write('pod-b');
    daemon = start();
    // Both families must be programmed (and reconciled) before the flows send again.
    const metrics = await waitAllFamiliesReady(daemon);
    const after = await Promise.all(flows.map((f) => f.send(2)));
    expect(after).toEqual([['pod-b', 'pod-b'], ['pod-b', 'pod-b']]);
    // waitReady returns the metrics once the first sync is recorded; each family's reconciler runs
    // after its own sync, so either count may appear a moment later: poll for both (bounded).
    let body = metrics;
    const counted = (b: string): boolean =>
      (['IPv4', 'IPv6'] as const).every((f) => metricValue(b, `kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="${f}"}`) !== undefined);
    for (let i = 0; i < 40 && !counted(body); i++) {
      await new Promise((r) => setTimeout(r, 250));
      const m = await httpGetIn(t().node('node-1').ns, `http://${METRICS}/metrics`);
      if ('status' in m) body = m.body;
    }
    expect(metricValue(body, 'kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="IPv4"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(body, 'kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="IPv6"}')).toBeGreaterThanOrEqual(1);
    expect(body).toContain('kubeproxy_conntrack_reconciler_sync_duration_seconds_count{ip_family="IPv4"}');
  });
});
