// Mode switch iptables -> userspace -> (restart) userspace -> iptables with the REAL daemon, in plain
// namespaces (no IPVS needed), while two request loops run: an off-node client to the NodePort and a pod to the
// ClusterIP, each request a new connection. Each switch is what a DaemonSet roll does: SIGTERM the
// old daemon, wait for it to exit, start the new one. After each switch the other mode's leftovers
// (chains, jumps, listeners, NodePort claims) must be gone, and no request may fail.
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

describeWith('mode switch iptables -> userspace -> userspace -> iptables under load', ['root', 'iptables'], () => {
  let topo: Topology;
  let dir = '';
  let restoreLock: (() => void) | undefined;
  let daemon: Daemon | undefined;
  const logs: string[] = [];
  const loads: Load[] = [];
  const results: LoadResult[] = [];
  /** Request counts of each loop when the userspace daemon got SIGTERM and when iptables was ready again. */
  const window: { from: number[]; to: number[] } = { from: [], to: [] };
  const kernel: Record<string, { nat: string; filter: string; sockets: string }> = {};

  const nodeNs = (): string => topo.node(NODE).ns;
  const start = (mode: string): Daemon =>
    startDaemon(nodeNs(), [
      '--manifests', dir, '--hostname-override', NODE, '--proxy-mode', mode, '--cluster-cidr', '10.244.0.0/16',
      '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    ]);
  const snapshot = async (): Promise<{ nat: string; filter: string; sockets: string }> => ({
    nat: (await execIn(nodeNs(), 'iptables-save', ['-t', 'nat'])).stdout,
    filter: (await execIn(nodeNs(), 'iptables-save', ['-t', 'filter'])).stdout,
    // Every TCP/UDP socket listening or bound in the node's namespace.
    sockets: (await execIn(nodeNs(), 'ss', ['-H', '-ltunp'])).stdout,
  });
  const stop = async (d: Daemon): Promise<void> => {
    await d.stop();
    logs.push(d.output());
  };

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    dir = mkdtempSync(join(tmpdir(), 'kpt-us2-migration-'));
    topo = await buildTopology({
      nodes: [{ name: NODE, pods: [{ name: 'web-1' }, { name: 'web-2' }, { name: 'client-pod', tcpPorts: [], udpPorts: [] }] }],
      tcpPorts: [8080],
      udpPorts: [],
    });
    writeFileSync(join(dir, 'web.yaml'), manifest([topo.pod('web-1').ip, topo.pod('web-2').ip]));

    try {
      await runPhases();
    } catch (err) {
      // A phase that did not complete: the logs say where (the tests then report as skipped).
      console.error(`phase: ${phase}; loads: ${loads.map((l) => `${l.name}=${l.count()}`).join(', ')}`);
      console.error(`daemon logs (last 3000 chars each):\n${[...logs, daemon?.output() ?? ''].map((l) => l.slice(-3000)).join('\n---\n')}`);
      throw err;
    }
  }, 600_000);

  let phase = '';
  async function runPhases(): Promise<void> {
    phase = 'iptables';
    daemon = start('iptables');
    await waitReady(daemon);
    loads.push(
      startLoad('clusterIP from a pod', topo.pod('client-pod').ns, '10.96.0.10', 80),
      startLoad('NodePort from outside', topo.client.ns, topo.node(NODE).ip, 30080),
    );
    await moreRequests(loads, 20);

    phase = 'iptables -> userspace';
    await stop(daemon);
    await moreRequests(loads, 10); // the iptables rules alone, no daemon running
    daemon = start('userspace');
    await waitReady(daemon);
    kernel.userspace = await snapshot();
    await moreRequests(loads, 50);

    // A restart (new listeners on new ports) must not fail requests either.
    phase = 'userspace -> userspace';
    await stop(daemon);
    daemon = start('userspace');
    await waitReady(daemon);
    await moreRequests(loads, 50);

    phase = 'userspace -> iptables';
    window.from = loads.map((l) => l.count());
    await stop(daemon);
    daemon = start('iptables');
    await waitReady(daemon);
    window.to = loads.map((l) => l.count());
    kernel.iptables = await snapshot();
    await moreRequests(loads, 50);
    await stop(daemon);
    daemon = undefined;

    phase = 'collect';
    for (const l of loads) {
      l.p.write('stop\n');
      results.push(JSON.parse(await l.p.waitForLine((line) => line.startsWith('{'), 30_000)) as LoadResult);
    }
  }

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

  it('after iptables -> userspace: portals and NodePort claim in place, the iptables mode chains gone', () => {
    const k = kernel.userspace;
    if (!k) throw new Error('no snapshot');
    expect(k.nat).toContain('-A KUBE-PORTALS-CONTAINER');
    expect(k.nat).toMatch(/-A PREROUTING .*-j KUBE-PORTALS-CONTAINER/);
    expect(k.nat).not.toMatch(/^:KUBE-(SERVICES|SVC-|SEP-|NODEPORTS|POSTROUTING|MARK-MASQ)/m);
    expect(k.filter).not.toMatch(/^:KUBE-(FORWARD|NODEPORTS|PROXY-FIREWALL)/m);
    // filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES are the userspace mode's REJECT chains too: the
    // service has endpoints, so they are empty, and each jump into them is there once.
    expect(k.filter).not.toMatch(/^-A KUBE-(SERVICES|EXTERNAL-SERVICES) /m);
    expect(k.filter.match(/-A FORWARD .*-j KUBE-SERVICES$/gm)).toHaveLength(1);
    expect(k.sockets).toMatch(/^tcp +LISTEN .* 0\.0\.0\.0:30080 /m);
  });

  it('after userspace -> iptables: no portal chains, jumps, listeners or claims left', () => {
    const k = kernel.iptables;
    if (!k) throw new Error('no snapshot');
    expect(k.nat).toContain(':KUBE-SERVICES');
    expect(`${k.nat}\n${k.filter}`).not.toMatch(/KUBE-(PORTALS|NODEPORT-CONTAINER|NODEPORT-HOST|NODEPORT-NON-LOCAL)/);
    // Only the new daemon's own servers on its loopback remain (healthz, metrics): it is the only
    // process in the node's namespace.
    const listening = k.sockets
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(/\s+/)[4] ?? '')
      .sort();
    expect(listening).toEqual([HEALTHZ, METRICS].sort());
  });

  it('answers every request through the switches and the restart (no failure; slow ones are reported)', () => {
    const summary = results.map((r, i) => ({
      load: loads[i]?.name,
      total: r.total,
      pods: r.pods,
      failures: r.failures.length,
      inUserspaceToIptablesWindow: r.failures.filter((f) => f.n > (window.from[i] ?? 0) && f.n <= (window.to[i] ?? 0) + 1).length,
      failureKinds: [...new Set(r.failures.map((f) => f.error))],
      slow: r.slow.length,
      slowestMs: Math.max(0, ...r.slow.map((s) => s.ms)),
    }));
    console.log(`migration summary: ${JSON.stringify(summary)}`);
    expect(results).toHaveLength(2);
    for (const r of results) expect(Object.keys(r.pods).sort()).toEqual(['web-1', 'web-2']);
    expect(summary.map((s) => s.failures)).toEqual([0, 0]);
  });
});
