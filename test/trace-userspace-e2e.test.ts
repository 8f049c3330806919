// `kube-proxy-ts trace` in the userspace mode against where real packets go (the same topology and
// manifests as test/trace-e2e.test.ts): the kernel's part is the portal, so trace names the
// daemon's proxy port; a real request to the Service must succeed, one sent straight to the port
// trace named must reach the same Service's pods (the daemon's listener for that Service port),
// and the source the pods see is the node (the daemon's own connection). REJECT must be a refused
// connection, DROP a timed-out one.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { TraceReport } from '../src/trace/trace-types.ts';
import { DAEMON_BIN, HEALTHZ, METRICS, registerDaemonSuiteTeardown, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tally, tcpRequest, type Topology } from './support/topology.ts';
import { EXAMPLES, EXTRA, NODE, topologySpec, traceIn, type TraceRun } from './support/trace-topology.ts';

describeWith('kube-proxy-ts trace agrees with real packets (userspace mode)', ['root', 'iptables', 'conntrack'], () => {
  const ctx = { topo: undefined as Topology | undefined, dir: '', daemon: undefined as Daemon | undefined };
  let restoreLock: (() => void) | undefined;
  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-trace-us-manifests-'));
    cpSync(EXAMPLES, ctx.dir, { recursive: true });
    writeFileSync(join(ctx.dir, 'trace-extra.yaml'), EXTRA);
    ctx.topo = await buildTopology(topologySpec);
    ctx.daemon = startDaemon(ctx.topo.node(NODE).ns, [
      '--manifests', ctx.dir, '--hostname-override', NODE, '--healthz-bind-address', HEALTHZ,
      '--metrics-bind-address', METRICS, '--cluster-cidr', '10.244.0.0/16', '--proxy-mode', 'userspace',
    ]);
    await waitReady(ctx.daemon);
  }, 120_000);
  registerDaemonSuiteTeardown(ctx, () => restoreLock);
  const topo = (): Topology => {
    if (!ctx.topo) throw new Error('topology not built');
    return ctx.topo;
  };

  const trace = (args: string[]): TraceRun => traceIn(topo().node(NODE).ns, args);

  /** trace's answer for a packet against real requests for it; `pods`: the Service's endpoints that may answer. */
  async function agree(fromNs: string, traceFrom: string, ip: string, port: number, pods: readonly string[], count = 10): Promise<TraceReport> {
    const t = trace([`${ip}:${port}`, '--from', traceFrom]);
    const report = t.report;
    if (report === null) throw new Error(`trace failed: ${t.stderr}`);
    const why = JSON.stringify(report, null, 1);
    const replies = await tcpRequest(fromNs, ip, port, { count, timeoutMs: 1_500 });
    if (report.verdict !== 'DNAT') {
      expect(t.code, why).toBe(1);
      expect(replies[0], why).toEqual({ ok: false, error: report.verdict === 'REJECT' ? 'ECONNREFUSED' : 'ETIMEDOUT' });
      return report;
    }
    expect(t.code, why).toBe(0);
    expect(replies.filter((r) => !r.ok), why).toEqual([]);
    const answered = [...tally(replies).keys()];
    expect(answered.every((p) => pods.includes(p)), why).toBe(true);
    // The daemon relays: its connection to the pod comes from the node, as trace says.
    expect(replies.every((r) => r.ok && r.source !== topo().pod('client-a').ip && r.source !== topo().client.ip), why).toBe(true);
    expect(report.endpoints.every((e) => e.masquerade !== null), why).toBe(true);
    // The port trace names is the daemon's listener for this Service port: straight to it, the same pods answer.
    const [ep] = report.endpoints;
    const m = /^(.+):(\d+)$/.exec(ep?.address ?? '');
    expect(m, why).not.toBeNull();
    const direct = await tcpRequest(topo().node(NODE).ns, topo().node(NODE).ip, Number(m?.[2]), { count: 6, timeoutMs: 1_500 });
    expect(direct.filter((r) => !r.ok), why).toEqual([]);
    expect([...tally(direct).keys()].every((p) => pods.includes(p)), why).toBe(true);
    return report;
  }

  const WEB = ['web-a1', 'web-a2', 'web-b1'];

  it('ClusterIP from a pod: the portal REDIRECTs to the daemon, which reaches the endpoints', async () => {
    const c = topo().pod('client-a');
    const r = await agree(c.ns, c.ip, '10.96.0.10', 80, WEB, 20);
    expect(r).toMatchObject({ verdict: 'DNAT', service: { name: 'demo/web:http', matchedAs: 'cluster IP' } });
    expect(r.endpoints[0]?.via[1]).toMatch(/^REDIRECT/);
    expect(trace(['10.96.0.10:80']).report?.endpoints.map((e) => e.address)).toEqual(r.endpoints.map((e) => e.address));
    expect(r.notes.some((n) => n.startsWith('relayed by the daemon to one of its endpoints'))).toBe(true);
  });

  it('ClusterIP from the node: DNAT to the node address and the proxy port', async () => {
    const n = topo().node(NODE);
    const r = await agree(n.ns, 'node', '10.96.0.10', 80, WEB, 10);
    expect(r.endpoints.map((e) => e.address)).toEqual([`${n.ip}:${/:(\d+)$/.exec(r.endpoints[0]?.address ?? '')?.[1] ?? ''}`]);
    expect(r.endpoints[0]?.via[1]).toMatch(/^DNAT/);
  });

  it('NodePort from outside, ETP Cluster and ETP Local (the external listener: the local endpoint only)', async () => {
    const cl = topo().client;
    const cluster = await agree(cl.ns, 'external', topo().node(NODE).ip, 30080, ['web-a1', 'web-a2', 'web-b1'], 10);
    expect(cluster.service).toEqual({ name: 'demo/web-nodeport:http', matchedAs: 'node port' });
    const local = await agree(cl.ns, 'external', topo().node(NODE).ip, 30081, ['web-a1'], 6);
    expect(local.endpoints[0]?.address).not.toBe(cluster.endpoints[0]?.address);
  });

  it('no endpoints: REJECT, refused at once; a source outside loadBalancerSourceRanges: DROP', async () => {
    const c = topo().pod('client-a');
    expect(await agree(c.ns, c.ip, '10.96.0.70', 80, [], 1)).toMatchObject({ verdict: 'REJECT', service: { name: 'demo/empty:http' } });
    const cl = topo().client;
    expect(await agree(cl.ns, cl.ip, '198.51.100.71', 80, [], 1)).toMatchObject({ verdict: 'DROP', service: { name: 'demo/ranged:http' } });
    expect(trace(['198.51.100.71:80', '--from', '203.0.113.5']).report?.verdict).toBe('DNAT');
  });

  it('--dump-state prints what --state takes: the saved state traces as the live one', () => {
    const ns = topo().node(NODE).ns;
    const dump = spawnSync('ip', ['netns', 'exec', ns, process.execPath, DAEMON_BIN, 'trace', '--dump-state', 'IPv4'], { encoding: 'utf8', timeout: 60_000 });
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain(':KUBE-PORTALS-CONTAINER ');
    const file = join(ctx.dir, 'node-a.save');
    writeFileSync(file, dump.stdout);
    const live = trace(['10.96.0.10:80', '--from', 'node']).report;
    const saved = trace(['10.96.0.10:80', '--from', 'node', '--state', file, '--node-ip', topo().node(NODE).ip]).report;
    expect(saved?.endpoints).toEqual(live?.endpoints);
    expect(saved?.service).toEqual(live?.service);
    const bad = spawnSync('ip', ['netns', 'exec', ns, process.execPath, DAEMON_BIN, 'trace', '--dump-state', 'IPv5'], { encoding: 'utf8' });
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'kube-proxy-ts trace: --dump-state "IPv5": give IPv4 or IPv6']);
  });

  it('an address no Service has: no Service matches, exit 1', async () => {
    const c = topo().pod('client-a');
    expect((await agree(c.ns, c.ip, '10.96.0.99', 80, [], 1)).verdict).toBe('NO_SERVICE');
  });
});
