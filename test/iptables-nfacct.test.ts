// nfacct counters end to end (issue 13): the real daemon in iptables mode inside a node namespace
// creates ct_state_invalid_dropped_pkts and localhost_nps_accepted_pkts over nfnetlink_acct (the
// host kernel has it), writes upstream's rules that count into them, and exports the kernel's
// counts on /metrics: connections from the node itself to 127.0.0.1:NodePort are counted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { HEALTHZ, METRICS, httpGetIn, metricValue, registerDaemonSuiteTeardown, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tcpRequest, type Topology } from './support/topology.ts';

const manifests = (ip: string): string => `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: e2e }
spec:
  type: NodePort
  clusterIP: 10.96.0.20
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 80, nodePort: 30090 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: e2e, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, protocol: TCP, port: 80 }]
endpoints:
  - { addresses: [${ip}], conditions: { ready: true }, nodeName: node-1 }
`;

describeWith('nfacct counters (iptables mode, real kernel)', ['root', 'iptables'], () => {
  const ctx = { topo: undefined as Topology | undefined, dir: '', daemon: undefined as Daemon | undefined };
  let restoreLock: (() => void) | undefined;
  registerDaemonSuiteTeardown(ctx, () => restoreLock);

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ctx.topo = await buildTopology({ nodes: [{ name: 'node-1', pods: [{ name: 'pod-a' }] }] });
    ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-nfacct-'));
    writeFileSync(join(ctx.dir, 'web.yaml'), manifests(ctx.topo.pod('pod-a').ip));
    ctx.daemon = startDaemon(ctx.topo.node('node-1').ns, [
      '--manifests', ctx.dir, '--hostname-override', 'node-1', '--proxy-mode', 'iptables', '--cluster-cidr', '10.244.0.0/16',
      '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);
    await waitReady(ctx.daemon);
  }, 120_000);

  it('writes the rules with the nfacct matches', async () => {
    const saved = (await execIn(ctx.topo?.node('node-1').ns ?? '', 'iptables-save', [])).stdout;
    expect(saved).toMatch(/-A KUBE-NODEPORTS -d 127\.0\.0\.0\/8 .*--dport 30090 .*-m nfacct --nfacct-name +localhost_nps_accepted_pkts/);
    expect(saved).toMatch(/-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name +ct_state_invalid_dropped_pkts -j DROP/);
  });

  it('counts localhost NodePort connections from the node and exports both counters', async () => {
    const ns = ctx.topo?.node('node-1').ns ?? '';
    const replies = await tcpRequest(ns, '127.0.0.1', 30090, { count: 3 });
    expect(replies.map((r) => (r.ok ? r.pod : r.error))).toEqual(['pod-a', 'pod-a', 'pod-a']);
    const m = await httpGetIn(ns, `http://${METRICS}/metrics`);
    if (!('status' in m)) throw new Error(`metrics: ${m.error}`);
    // nat sees the first packet of each connection: one count per connection.
    expect(metricValue(m.body, 'kubeproxy_iptables_localhost_nodeports_accepted_packets_total')).toBe(3);
    expect(metricValue(m.body, 'kubeproxy_iptables_ct_state_invalid_dropped_packets_total')).toBe(0);
    expect(m.body).toContain('# TYPE kubeproxy_iptables_localhost_nodeports_accepted_packets_total counter');
  });
});
