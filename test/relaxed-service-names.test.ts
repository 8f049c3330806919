// Issue 13, names: since v1.36 (RelaxedServiceNameValidation, on by default) a Service may be named
// by any DNS label, so its name may start with a digit (`7seas`), where RFC 1035 labels used to be
// required. Such Services must be served like any other: here end to end in iptables mode from a
// --manifests directory, ClusterIP and NodePort, with a port name that starts with a digit too.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { HEALTHZ, METRICS, pollUntil, registerDaemonSuiteTeardown, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tcpRequest, type Topology } from './support/topology.ts';

const NODE = 'node-a';

describeWith('Services whose names start with a digit', ['root', 'iptables'], () => {
  const ctx = { topo: undefined as Topology | undefined, dir: '', daemon: undefined as Daemon | undefined };
  let restoreLock: (() => void) | undefined;
  const topo = (): Topology => {
    if (!ctx.topo) throw new Error('topology not built');
    return ctx.topo;
  };

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ctx.topo = await buildTopology({
      nodes: [{ name: NODE, pods: [{ name: 'web-a1' }, { name: 'client-a', tcpPorts: [], udpPorts: [] }] }],
      tcpPorts: [8080],
      udpPorts: [],
    });
    ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-names-manifests-'));
    writeFileSync(join(ctx.dir, 'svc.yaml'), `apiVersion: v1
kind: Service
metadata: { name: 7seas, namespace: 3rd-party }
spec:
  type: NodePort
  clusterIP: 10.96.0.77
  ports: [{ name: 8080-web, protocol: TCP, port: 80, targetPort: 8080, nodePort: 30077 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: 7seas-x1, namespace: 3rd-party, labels: { kubernetes.io/service-name: 7seas } }
addressType: IPv4
ports: [{ name: 8080-web, protocol: TCP, port: 8080 }]
endpoints:
  - addresses: [${topo().pod('web-a1').ip}]
    conditions: { ready: true, serving: true, terminating: false }
    nodeName: ${NODE}
`);
    ctx.daemon = startDaemon(topo().node(NODE).ns, [
      '--manifests', ctx.dir, '--hostname-override', NODE, '--proxy-mode', 'iptables', '--cluster-cidr', '10.244.0.0/16',
      '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);
    await waitReady(ctx.daemon);
  }, 120_000);
  registerDaemonSuiteTeardown(ctx, () => restoreLock);

  it('is accepted, not reported invalid, and written with its name in the rule comments', async () => {
    expect(ctx.daemon?.output()).not.toContain('invalid object ignored');
    const nat = (await execIn(topo().node(NODE).ns, 'iptables-save', ['-t', 'nat'])).stdout;
    expect(nat).toContain('"3rd-party/7seas:8080-web cluster IP"');
  });

  it.each([
    ['the ClusterIP from a pod', () => tcpRequest(topo().pod('client-a').ns, '10.96.0.77', 80, { count: 3 })],
    ['the NodePort from outside', () => tcpRequest(topo().client.ns, topo().node(NODE).ip, 30077, { count: 3 })],
  ])('answers on %s', async (_what, send) => {
    const replies = await pollUntil('replies', 15_000, async () => {
      const r = await send();
      return r.every((x) => x.ok) ? r : undefined;
    });
    expect(replies.map((r) => (r.ok ? r.pod : 'failed'))).toEqual(['web-a1', 'web-a1', 'web-a1']);
  });
});
