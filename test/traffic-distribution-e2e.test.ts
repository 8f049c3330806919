// Issue 13, trafficDistribution with real traffic: the daemon in iptables mode runs in node-a
// (zone-a) from a --manifests directory; a Service's EndpointSlice carries the hints the
// EndpointSlice controller writes for PreferSameZone and for PreferSameNode, and a pod on node-a
// sends real connections to the ClusterIP. Which pods answer shows which endpoints the rules hold.
//   web-a1  node-a  zone-a
//   web-b1  node-b  zone-a
//   web-b2  node-b  zone-b
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { HEALTHZ, METRICS, pollUntil, registerDaemonSuiteTeardown, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tally, tcpRequest, type Topology } from './support/topology.ts';

const NODE = 'node-a';
const CLUSTER_IP = '10.96.0.60';
const DEADLINE_MS = 20_000;

interface Hinted {
  readonly pod: string;
  readonly node: string;
  readonly zones?: readonly string[];
  readonly nodes?: readonly string[];
}

function writeAtomically(dir: string, name: string, text: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), text);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}

const list = (names: readonly string[] | undefined): string => `[${(names ?? []).map((n) => `{ name: ${n} }`).join(', ')}]`;

describeWith('trafficDistribution end to end, iptables mode', ['root', 'iptables'], () => {
  const ctx = { topo: undefined as Topology | undefined, dir: '', daemon: undefined as Daemon | undefined };
  let restoreLock: (() => void) | undefined;
  const topo = (): Topology => {
    if (!ctx.topo) throw new Error('topology not built');
    return ctx.topo;
  };

  const sliceYaml = (distribution: string, eps: readonly Hinted[]): string => `apiVersion: v1
kind: Service
metadata: { name: web, namespace: demo }
spec:
  clusterIP: ${CLUSTER_IP}
  trafficDistribution: ${distribution}
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 8080 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: demo, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, protocol: TCP, port: 8080 }]
endpoints:
${eps
  .map(
    (e) => `  - addresses: [${topo().pod(e.pod).ip}]
    conditions: { ready: true, serving: true, terminating: false }
    nodeName: ${e.node}
    hints: { forZones: ${list(e.zones)}${e.nodes ? `, forNodes: ${list(e.nodes)}` : ''} }
`,
  )
  .join('')}`;

  const zoneHints: Hinted[] = [
    { pod: 'web-a1', node: 'node-a', zones: ['zone-a'] },
    { pod: 'web-b1', node: 'node-b', zones: ['zone-a'] },
    { pod: 'web-b2', node: 'node-b', zones: ['zone-b'] },
  ];
  const nodeHints: Hinted[] = zoneHints.map((e) => ({ ...e, nodes: [e.node] }));

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ctx.topo = await buildTopology({
      nodes: [
        { name: NODE, pods: [{ name: 'web-a1' }, { name: 'client-a', tcpPorts: [], udpPorts: [] }] },
        { name: 'node-b', pods: [{ name: 'web-b1' }, { name: 'web-b2' }] },
      ],
      tcpPorts: [8080],
      udpPorts: [],
    });
    ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-topology-manifests-'));
    writeFileSync(join(ctx.dir, 'node.yaml'), `apiVersion: v1
kind: Node
metadata: { name: ${NODE}, labels: { kubernetes.io/hostname: ${NODE}, topology.kubernetes.io/zone: zone-a } }
status: { addresses: [{ type: InternalIP, address: ${topo().node(NODE).ip} }] }
`);
    writeFileSync(join(ctx.dir, 'web.yaml'), sliceYaml('PreferSameZone', zoneHints));
    ctx.daemon = startDaemon(topo().node(NODE).ns, [
      '--manifests', ctx.dir, '--hostname-override', NODE, '--proxy-mode', 'iptables', '--cluster-cidr', '10.244.0.0/16',
      '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);
    await waitReady(ctx.daemon);
  }, 120_000);
  registerDaemonSuiteTeardown(ctx, () => restoreLock);

  /** Poll until 30 connections from client-a are answered by exactly `pods` (each at least once). */
  const answeredBy = (pods: readonly string[]): Promise<Map<string, number>> =>
    pollUntil(`ClusterIP answered by ${pods.join(', ')}`, DEADLINE_MS, async () => {
      const t = tally(await tcpRequest(topo().pod('client-a').ns, CLUSTER_IP, 80, { count: 30 }));
      return [...t.keys()].sort().join(',') === [...pods].sort().join(',') ? t : undefined;
    });

  it('PreferSameZone: only the endpoints hinted for zone-a answer, from both nodes of the zone', async () => {
    const t = await answeredBy(['web-a1', 'web-b1']);
    expect(t.get('web-b2')).toBeUndefined();
  });

  it('PreferSameNode (hints.forNodes): only node-a\'s endpoint answers', async () => {
    writeAtomically(ctx.dir, 'web.yaml', sliceYaml('PreferSameNode', nodeHints));
    const t = await answeredBy(['web-a1']);
    expect(t.get('web-a1')).toBe(30);
  });

  it('PreferSameNode with one endpoint missing its node hint falls back to the zone hints', async () => {
    writeAtomically(ctx.dir, 'web.yaml', sliceYaml('PreferSameNode', nodeHints.map((e) => (e.pod === 'web-b2' ? { ...e, nodes: undefined } : e))));
    await answeredBy(['web-a1', 'web-b1']);
  });

  it('partial zone hints fall back to every endpoint', async () => {
    writeAtomically(ctx.dir, 'web.yaml', sliceYaml('PreferSameZone', zoneHints.map((e) => (e.pod === 'web-b1' ? { ...e, zones: [] } : e))));
    await answeredBy(['web-a1', 'web-b1', 'web-b2']);
  });
});
