// The real daemon (bin/kube-proxy-ts.js, --manifests) in iptables mode inside node-1 of a namespace
// topology: manifests in, real connections through the rules it programs, then --cleanup.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execIn, spawnIn, type NsProcess } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tally, tcpRequest, type Reply, type Topology } from './support/topology.ts';

const BIN = fileURLToPath(new URL('../bin/kube-proxy-ts.js', import.meta.url));

const manifests = (pods: { ip: string; node: string }[]): string => `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: e2e }
spec:
  type: NodePort
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20]
  ipFamilies: [IPv4]
  ports:
    - { name: http, protocol: TCP, port: 80, targetPort: 80, nodePort: 30090 }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: e2e
  labels: { kubernetes.io/service-name: web }
addressType: IPv4
ports:
  - { name: http, protocol: TCP, port: 80 }
endpoints:
${pods.map((p) => `  - addresses: [${p.ip}]\n    conditions: { ready: true }\n    nodeName: ${p.node}`).join('\n')}
`;

describeWith('kube-proxy-ts daemon in iptables mode', ['root', 'iptables'], () => {
  let topo: Topology;
  let dir: string;
  let daemon: NsProcess | undefined;

  beforeAll(async () => {
    topo = await buildTopology({
      nodes: [
        { name: 'node-1', pods: [{ name: 'pod-1a' }, { name: 'pod-1b' }] },
        { name: 'node-2', pods: [{ name: 'pod-2a' }] },
      ],
    });
    dir = await mkdtemp(join(tmpdir(), 'kpt-manifests-'));
    await writeFile(join(dir, 'web.yaml'), manifests([topo.pod('pod-1b'), topo.pod('pod-2a')]));
  });
  afterAll(async () => {
    await daemon?.stop();
    await topo?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('programs a NodePort service from manifests that answers from both endpoints', async () => {
    const ns = topo.node('node-1').ns;
    daemon = spawnIn(ns, process.execPath, [
      BIN, '--manifests', dir, '--hostname-override', 'node-1', '--proxy-mode', 'iptables', '--cluster-cidr', '10.244.0.0/16',
    ]);
    // Wait for the first sync: poll the nat table (cheap) until the service shows up or the daemon
    // exits; bounded, and the assertions below are on real replies, not on time.
    const programmed = async (): Promise<boolean> => {
      const nft = await execIn(ns, 'iptables-nft-save', ['-t', 'nat']);
      const legacy = await execIn(ns, 'iptables-legacy-save', ['-t', 'nat']);
      return (nft.stdout + legacy.stdout).includes('10.96.0.20/32');
    };
    for (let i = 0; i < 600 && daemon.child.exitCode === null && !(await programmed()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const replies: Reply[] = await tcpRequest(topo.pod('pod-1a').ns, '10.96.0.20', 80, { timeoutMs: 5000 });
    expect(replies[0], daemon.output()).toMatchObject({ ok: true });
    const t = tally(await tcpRequest(topo.pod('pod-1a').ns, '10.96.0.20', 80, { count: 30 }));
    expect([...t.keys()].sort()).toEqual(['pod-1b', 'pod-2a']);
    const np = await tcpRequest(topo.client.ns, topo.node('node-1').ip, 30090, { count: 5 });
    expect(np.every((r) => r.ok)).toBe(true);
  });

  it('--cleanup removes every rule of ours', async () => {
    await daemon?.stop();
    const ns = topo.node('node-1').ns;
    await execIn(ns, process.execPath, [BIN, '--cleanup']);
    const saved = (await execIn(ns, 'iptables-nft-save', [])).stdout + (await execIn(ns, 'iptables-legacy-save', [])).stdout;
    expect(saved.split('\n').filter((l) => l.includes('KUBE-') && !l.includes('KUBE-FIREWALL'))).toEqual([]);
  });
});
