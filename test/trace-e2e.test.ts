// `kube-proxy-ts trace` against where real packets go: the real daemon programs node-a of a
// namespace topology from manifests, then for each question `trace` runs inside node-a (reading the
// live rules as an operator would) and the same packets are sent for real from a pod, the node and
// an outside client. The endpoints trace names must be the pods that answered, its masquerade
// verdict what the pod saw as the source, REJECT a refused connection and DROP a timed-out one.
// Once per iptables back-end (trace finds the one holding our rules) and once in nftables mode
// (trace reads `nft -j list table ip kube-proxy`).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { DaemonStatus } from '../src/status/daemon-status.ts';
import type { TraceReport } from '../src/trace/trace-types.ts';
import { DAEMON_BIN, HEALTHZ, METRICS, registerDaemonSuiteTeardown, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tally, tcpRequest, type Reply, type Topology } from './support/topology.ts';
import { EXAMPLES, EXTRA, NODE, topologySpec, traceIn, type TraceRun } from './support/trace-topology.ts';

const RUNS = [
  { mode: 'iptables', backend: 'nft', flags: ['--iptables-backend', 'nft'] },
  { mode: 'iptables', backend: 'legacy', flags: ['--iptables-backend', 'legacy'] },
  { mode: 'nftables', backend: null, flags: ['--proxy-mode', 'nftables'] },
] as const;

for (const { mode, backend, flags } of RUNS) {
  describeWith(`kube-proxy-ts trace agrees with real packets (${mode} mode${backend === null ? '' : `, ${backend}`})`, ['root', 'iptables', 'conntrack'], () => {
    const ctx = { topo: undefined as Topology | undefined, dir: '', daemon: undefined as Daemon | undefined };
    let restoreLock: (() => void) | undefined;
    beforeAll(async () => {
      restoreLock = usePrivateXtablesLock();
      ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-trace-manifests-'));
      cpSync(EXAMPLES, ctx.dir, { recursive: true });
      writeFileSync(join(ctx.dir, 'trace-extra.yaml'), EXTRA);
      ctx.topo = await buildTopology(topologySpec);
      ctx.daemon = startDaemon(ctx.topo.node(NODE).ns, [
        '--manifests', ctx.dir, '--hostname-override', NODE, '--healthz-bind-address', HEALTHZ,
        '--metrics-bind-address', METRICS, '--cluster-cidr', '10.244.0.0/16', ...flags,
      ]);
      await waitReady(ctx.daemon);
    }, 120_000);
    registerDaemonSuiteTeardown(ctx, () => restoreLock);
    const topo = (): Topology => {
      if (!ctx.topo) throw new Error('topology not built');
      return ctx.topo;
    };

    const trace = (args: string[]): TraceRun => traceIn(topo().node(NODE).ns, args);
    const podOf = (address: string): string => {
      const ip = address.replace(/:\d+$/, '');
      const pod = ['web-a1', 'web-a2', 'web-b1', 'web-b2'].find((p) => topo().pod(p).ip === ip);
      if (pod === undefined) throw new Error(`trace named ${address}, which is no pod`);
      return pod;
    };

    /** Send `count` real requests and check trace's answer for the same packet against them. */
    async function agree(fromNs: string, sourceIP: string, traceFrom: string, ip: string, port: number, count = 30): Promise<TraceReport | null> {
      const t = trace([`${ip}:${port}`, '--from', traceFrom]);
      const replies: Reply[] = await tcpRequest(fromNs, ip, port, { count, timeoutMs: 1_500 });
      const report = t.report;
      if (report === null) throw new Error(`trace failed: ${t.stderr}`);
      const why = JSON.stringify(report, null, 1);
      const first = replies[0];
      if (report.verdict === 'DNAT') {
        expect(t.code, why).toBe(0);
        expect(replies.filter((r) => !r.ok), why).toEqual([]);
        expect([...tally(replies).keys()].sort(), why).toEqual(report.endpoints.map((e) => podOf(e.address)).sort());
        const masqueraded = replies.some((r) => r.ok && r.source !== sourceIP);
        expect(report.endpoints.every((e) => (e.masquerade !== null) === masqueraded), why).toBe(true);
      } else {
        expect(t.code, why).toBe(1);
        const expected = { REJECT: 'ECONNREFUSED', DROP: 'ETIMEDOUT', NO_SERVICE: 'ETIMEDOUT' }[report.verdict];
        expect(first, why).toEqual({ ok: false, error: expected });
      }
      return report;
    }

    it('ClusterIP from a pod: every endpoint, source kept (by address and by the default --from pod)', async () => {
      const c = topo().pod('client-a');
      const r = await agree(c.ns, c.ip, c.ip, '10.96.0.10', 80, 40);
      expect(r).toMatchObject({ verdict: 'DNAT', service: { name: 'demo/web:http', matchedAs: 'cluster IP' } });
      expect(r?.endpoints.map((e) => e.probability).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBeCloseTo(1, 6);
      const byDefault = trace(['10.96.0.10:80']).report;
      expect(byDefault?.endpoints.map((e) => e.address)).toEqual(r?.endpoints.map((e) => e.address));
      expect(byDefault?.endpoints.every((e) => e.masquerade === null)).toBe(true);
    });

    it('ClusterIP from the node: masqueraded', async () => {
      const n = topo().node(NODE);
      const r = await agree(n.ns, n.ip, 'node', '10.96.0.10', 80, 40);
      expect(r?.endpoints.every((e) => e.masquerade !== null)).toBe(true);
    });

    it('NodePort from outside, ETP Cluster: every endpoint, masqueraded', async () => {
      const r = await agree(topo().client.ns, topo().client.ip, 'external', topo().node(NODE).ip, 30080, 40);
      expect(r).toMatchObject({ verdict: 'DNAT', service: { matchedAs: 'node port' } });
      expect(r?.endpoints.length).toBe(3);
    });

    it('NodePort from outside, ETP Local: the local endpoint only, client address kept', async () => {
      const r = await agree(topo().client.ns, topo().client.ip, 'external', topo().node(NODE).ip, 30081, 10);
      expect(r?.endpoints.map((e) => podOf(e.address))).toEqual(['web-a1']);
    });

    it('NodePort from outside, ETP Local without a local endpoint: DROP', async () => {
      const r = await agree(topo().client.ns, topo().client.ip, 'external', topo().node(NODE).ip, 30072, 1);
      expect(r).toMatchObject({ verdict: 'DROP', service: { name: 'demo/remote-only:http' } });
      expect(r?.reason).toMatch(/no local endpoints/);
    });

    it('ClientIP affinity: trace names the timeout, and real requests stick to one of its endpoints', async () => {
      const c = topo().pod('client-a');
      const r = trace(['10.96.0.30:80', '--from', c.ip]).report;
      expect(r?.affinity).toEqual({ kind: 'ClientIP', timeoutSeconds: 10800 });
      const t = tally(await tcpRequest(c.ns, '10.96.0.30', 80, { count: 20 }));
      expect(t.size).toBe(1);
      expect(r?.endpoints.map((e) => podOf(e.address))).toContain([...t.keys()][0]);
    });

    it('no endpoints: REJECT, refused at once', async () => {
      const c = topo().pod('client-a');
      const r = await agree(c.ns, c.ip, c.ip, '10.96.0.70', 80, 1);
      expect(r).toMatchObject({ verdict: 'REJECT', service: { name: 'demo/empty:http' } });
    });

    it('load-balancer source ranges: a client outside them is dropped', async () => {
      const r = await agree(topo().client.ns, topo().client.ip, topo().client.ip, '198.51.100.71', 80, 1);
      expect(r).toMatchObject({ verdict: 'DROP', service: { name: 'demo/ranged:http' } });
      expect(trace(['198.51.100.71:80', '--from', '203.0.113.5']).report?.verdict).toBe('DNAT');
    });

    it('prints the same path as text, verdict last', () => {
      const c = topo().pod('client-a');
      const r = spawnSync('ip', ['netns', 'exec', topo().node(NODE).ns, process.execPath, DAEMON_BIN, 'trace', '10.96.0.30:80', '--from', c.ip], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // The operator guide's example (docs/operations.md) is this output.
      if (process.env['TRACE_EXAMPLE'] === '1') console.log(r.stdout);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(`packet:     ${c.ip} -> 10.96.0.30:80/tcp (from the given address; mode ${mode})`);
      expect(lines[1]).toBe('service:    demo/web-sticky:http (cluster IP)');
      expect(lines).toContain('affinity:   ClientIP, 10800 s');
      if (mode === 'nftables') {
        // nft lists the affinity set's entries: the client of the affinity test above sticks to one endpoint.
        expect(lines.find((l) => l.startsWith('verdict:'))).toMatch(/^verdict: {4}DNAT to 10\.244\.\d+\.\d+:8080$/);
        expect(lines.some((l) => /^note: +the source is in affinity-\S+ \(ClientIP affinity\)/.test(l)), r.stdout).toBe(true);
      } else expect(lines.at(-1)).toMatch(/^verdict: {4}DNAT to 10\.244\.\d+\.\d+:8080, /);
    });

    it('kube-proxy-ts status asks the running daemon: mode, back-end, version, what is programmed, the last sync', () => {
      const run = (args: string[]) =>
        spawnSync('ip', ['netns', 'exec', topo().node(NODE).ns, process.execPath, DAEMON_BIN, 'status', ...args], { encoding: 'utf8', timeout: 30_000 });
      const r = run(['--json']);
      expect(r.status, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as DaemonStatus;
      expect(s).toMatchObject({ mode, ...(backend === null ? {} : { backend }), health: { healthy: true } });
      expect(s.version).toMatch(/^kube-proxy-ts v\d/);
      // The examples' 5 Services (web 3 endpoints, web-nodeport 3, web-local 2, web-sticky 3,
      // echo-udp 2) and this suite's 3 (empty 0, ranged 1, remote-only 1).
      expect(s.families.IPv4).toMatchObject({ services: 8, servicePorts: 8, endpoints: 15, failuresSinceStart: 0 });
      expect(Date.parse(s.families.IPv4?.lastSyncAt ?? '')).toBeGreaterThan(Date.parse(s.startedAt) - 1);
      const text = run([]);
      expect(text.status).toBe(0);
      expect(text.stdout).toContain('  programmed: 8 Services, 8 ports, 15 endpoints');
      const none = run(['--url', '127.0.0.1:1']);
      expect(none.status).toBe(1);
      expect(none.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^kube-proxy-ts status: no answer from the daemon at http:\/\/127\.0\.0\.1:1\/kubeproxyts\/status: /)]);
    });

    it('an address no Service has: no Service matches, exit 1; bad input: exit 2 and one line', async () => {
      const c = topo().pod('client-a');
      // nftables drops traffic to a ClusterIP no Service holds when it knows the ServiceCIDRs (upstream).
      expect(mode === 'nftables' ? ['NO_SERVICE', 'DROP'] : ['NO_SERVICE']).toContain((await agree(c.ns, c.ip, c.ip, '10.96.0.99', 80, 1))?.verdict);
      const bad = trace(['10.96.0.10']);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toEqual(['kube-proxy-ts trace: DEST "10.96.0.10": no port (expected IP:PORT[/tcp|udp|sctp] or [IPv6]:PORT[/proto])']);
      const wrong = trace(['10.96.0.10:80', '--mode', 'iptable']);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/--mode "iptable": not a proxy mode/);
    });
  });
}
