// Mode switch iptables -> nftables -> (restart) nftables -> userspace -> nftables -> iptables with
// the REAL daemon in plain namespaces on the host kernel, while two request loops run (an off-node
// client to the NodePort, a pod to the ClusterIP; each request a new connection). Each switch is a
// DaemonSet roll: SIGTERM the old daemon, wait for it to exit, start the new one. After each
// switch the other modes' leftovers must be gone (iptables chains when nftables starts, our
// `ip kube-proxy` table when another mode starts), and no request may fail.
// (ipvs <-> nftables cannot run here: the IPVS test kernel has no nf_tables and the host kernel no
// IPVS; the removal of each other's state is covered by the leftover-removal paths of both.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { HEALTHZ, METRICS, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { execIn } from './support/netns.ts';
import { webNodePortManifest } from './support/migration-manifests.ts';
import { moreRequests, startLoad, type Load, type LoadResult } from './support/request-loops.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, type Topology } from './support/topology.ts';

const NODE = 'node-1';

const manifest = (pods: readonly string[]): string => webNodePortManifest(NODE, pods);

describeWith('mode switch iptables -> nftables -> nftables -> userspace -> nftables -> iptables under load', ['root', 'iptables'], () => {
  let topo: Topology;
  let dir = '';
  let restoreLock: (() => void) | undefined;
  let daemon: Daemon | undefined;
  const logs: string[] = [];
  const loads: Load[] = [];
  const results: LoadResult[] = [];
  const kernel: Record<string, { nat: string; filter: string; nft: string }> = {};

  const nodeNs = (): string => topo.node(NODE).ns;
  const start = (mode: string): Daemon =>
    startDaemon(nodeNs(), [
      '--manifests', dir, '--hostname-override', NODE, '--proxy-mode', mode, '--cluster-cidr', '10.244.0.0/16',
      '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);
  const snapshot = async (): Promise<{ nat: string; filter: string; nft: string }> => ({
    nat: (await execIn(nodeNs(), 'iptables-save', ['-t', 'nat'])).stdout,
    filter: (await execIn(nodeNs(), 'iptables-save', ['-t', 'filter'])).stdout,
    nft: (await execIn(nodeNs(), 'nft', ['list', 'tables'])).stdout,
  });
  const stop = async (d: Daemon): Promise<void> => {
    await d.stop();
    logs.push(d.output());
  };
  /** Start `mode`, wait for its first sync, let its leftover removal run, snapshot under `label`. */
  const marks: { label: string; at: number[] }[] = [];
  let running = 'iptables';
  const switchTo = async (mode: string, label: string): Promise<void> => {
    marks.push({ label: `stop before ${label}`, at: loads.map((l) => l.count()) });
    if (daemon) await stop(daemon);
    marks.push({ label: `start ${label}`, at: loads.map((l) => l.count()) });
    // Kernel rules keep answering with no daemon running; userspace relays itself, so none then.
    if (running !== 'userspace') await moreRequests(loads, 5);
    running = mode;
    daemon = start(mode);
    await waitReady(daemon);
    marks.push({ label: `ready ${label}`, at: loads.map((l) => l.count()) });
    await moreRequests(loads, 30);
    kernel[label] = await snapshot();
  };

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    dir = mkdtempSync(join(tmpdir(), 'kpt-nft-migration-'));
    topo = await buildTopology({
      nodes: [{ name: NODE, pods: [{ name: 'web-1' }, { name: 'web-2' }, { name: 'client-pod', tcpPorts: [], udpPorts: [] }] }],
      tcpPorts: [8080],
      udpPorts: [],
    });
    writeFileSync(join(dir, 'web.yaml'), manifest([topo.pod('web-1').ip, topo.pod('web-2').ip]));
    try {
      daemon = start('iptables');
      await waitReady(daemon);
      loads.push(
        startLoad('clusterIP from a pod', topo.pod('client-pod').ns, '10.96.0.10', 80),
        startLoad('NodePort from outside', topo.client.ns, topo.node(NODE).ip, 30080),
      );
      await moreRequests(loads, 20);
      await switchTo('nftables', 'nftables');
      await switchTo('nftables', 'nftables-restart');
      await switchTo('userspace', 'userspace');
      await switchTo('nftables', 'nftables-again');
      await switchTo('iptables', 'iptables');
      if (daemon) await stop(daemon);
      daemon = undefined;
      for (const l of loads) {
        l.p.write('stop\n');
        results.push(JSON.parse(await l.p.waitForLine((line) => line.startsWith('{'), 30_000)) as LoadResult);
      }
    } catch (err) {
      console.error(`loads: ${loads.map((l) => `${l.name}=${l.count()}`).join(', ')}`);
      console.error(`daemon logs (last 3000 chars each):\n${[...logs, daemon?.output() ?? ''].map((l) => l.slice(-3000)).join('\n---\n')}`);
      throw err;
    }
  }, 600_000);

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.error(`daemon logs (last 4000 chars each):\n${logs.map((l) => l.slice(-4000)).join('\n---\n')}`);
  });

  afterAll(async () => {
    if (daemon) await daemon.stop();
    for (const l of loads) await l.p.stop();
    await topo?.teardown();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    restoreLock?.();
  });

  const noKubeChains = /^:KUBE-(SERVICES|SVC-|SEP-|NODEPORTS|POSTROUTING|MARK-MASQ|FORWARD|EXTERNAL-SERVICES|PROXY-FIREWALL|PORTALS)/m;

  it('nftables removes the iptables mode’s chains after its first sync, and keeps them away after a restart and after userspace', () => {
    for (const label of ['nftables', 'nftables-restart', 'nftables-again']) {
      const k = kernel[label];
      if (!k) throw new Error(`no snapshot ${label}`);
      expect(k.nft, label).toContain('table ip kube-proxy');
      expect(`${k.nat}\n${k.filter}`, label).not.toMatch(noKubeChains);
    }
  });

  it('userspace and iptables remove the nftables table after their first sync', () => {
    for (const label of ['userspace', 'iptables']) {
      const k = kernel[label];
      if (!k) throw new Error(`no snapshot ${label}`);
      expect(k.nft, label).not.toContain('table ip kube-proxy');
    }
    expect(kernel.iptables?.nat).toContain(':KUBE-SERVICES');
  });

  it('answers every request through every switch and the restart', () => {
    const summary = results.map((r, i) => ({
      load: loads[i]?.name, total: r.total, pods: r.pods, failures: r.failures.length, slow: r.slow.length,
      failed: r.failures.map((f) => `${f.n} ${f.error} after ${[...marks].reverse().find((m) => (m.at[i] ?? 0) <= f.n)?.label ?? 'start'}`),
    }));
    console.log(`nftables migration summary: ${JSON.stringify(summary)}`);
    expect(results).toHaveLength(2);
    for (const r of results) expect(Object.keys(r.pods).sort()).toEqual(['web-1', 'web-2']);
    expect(summary.map((s) => s.failures)).toEqual([0, 0]);
  });
});
