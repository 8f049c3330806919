// The real daemon (bin/kube-proxy-ts.js), end to end: it runs inside node-a of a namespace
// topology from a temporary copy of examples/manifests, and pods, node-b and an external client
// send real packets through what it programs. Edits to the directory, a malformed file, SIGTERM,
// a restart under load and --cleanup are exercised as an operator would, once per iptables
// back-end; the userspace mode gets a basic reachability check.
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import {
  HEALTHZ,
  METRICS,
  httpGetIn,
  metricValue,
  pollUntil,
  registerDaemonSuiteTeardown,
  runDaemonOnce,
  startDaemon,
  usePrivateXtablesLock,
  waitReady,
  type Daemon,
} from './support/daemon.ts';
import { execIn, spawnIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tally, tcpRequest, udpRequest, type Topology } from './support/topology.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/manifests', import.meta.url));
const LOAD_CLIENT = fileURLToPath(new URL('./support/daemon-load-client.ts', import.meta.url));
const NODE = 'node-a';
/** Generous: the source applies a change within ~1 s, then the 1 s min-sync-period applies. */
const DEADLINE_MS = 15_000;
/**
 * kubelet's chains, which kube-proxy also creates but upstream CleanupLeftovers deliberately
 * leaves (pkg/proxy/iptables/proxier.go, iptablesKubeletJumpChains): everything else KUBE-* goes.
 */
const KUBELET_CHAINS = /KUBE-(FIREWALL|KUBELET-CANARY|IPTABLES-HINT|MARK-DROP)\b/;

const topologySpec = {
  nodes: [
    // Pod addresses follow the manifests: node-a 10.244.1.10/.11/.12, node-b 10.244.2.10/.11.
    { name: NODE, pods: [{ name: 'web-a1' }, { name: 'web-a2' }, { name: 'client-a', tcpPorts: [], udpPorts: [] }] },
    { name: 'node-b', pods: [{ name: 'web-b1' }, { name: 'web-b2' }] },
  ],
  tcpPorts: [8080],
  udpPorts: [5353],
};

/** Write by rename, as operators (and config-management tools) should. */
function writeAtomically(dir: string, name: string, text: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), text);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}

const endpointYaml = (ip: string, node: string): string =>
  `  - addresses: [${ip}]\n    conditions: { ready: true, serving: true, terminating: false }\n    nodeName: ${node}\n`;

const serviceYaml = (name: string, ip: string, endpoint: string): string => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: demo }
spec:
  clusterIP: ${ip}
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 8080 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: demo, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, protocol: TCP, port: 8080 }]
endpoints:
${endpointYaml(endpoint, 'node-b')}`;

function commonSetup(extraFlags: readonly string[]) {
  const ctx = { topo: undefined as Topology | undefined, dir: '', daemon: undefined as Daemon | undefined };
  const flags = (): string[] => [
    '--manifests', ctx.dir, '--hostname-override', NODE, '--healthz-bind-address', HEALTHZ,
    '--metrics-bind-address', METRICS, '--cluster-cidr', '10.244.0.0/16', ...extraFlags,
  ];
  let restoreLock: (() => void) | undefined;
  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-daemon-manifests-'));
    cpSync(EXAMPLES, ctx.dir, { recursive: true });
    ctx.topo = await buildTopology(topologySpec);
    ctx.daemon = startDaemon(ctx.topo.node(NODE).ns, flags());
    await waitReady(ctx.daemon);
  }, 120_000);
  registerDaemonSuiteTeardown(ctx, () => restoreLock);
  const topo = (): Topology => {
    if (!ctx.topo) throw new Error('topology not built');
    return ctx.topo;
  };
  return { ctx, flags, topo };
}

for (const backend of ['legacy', 'nft'] as const) {
  describeWith(`daemon end to end, iptables mode (${backend})`, ['root', 'iptables', 'conntrack'], () => {
    const { ctx, flags, topo } = commonSetup(['--iptables-backend', backend]);
    const client = () => topo().pod('client-a');
    const nodeNs = () => topo().node(NODE).ns;
    const save = async (cmd: string, table: string): Promise<string> => (await execIn(nodeNs(), cmd, ['-t', table])).stdout;

    it('serves /healthz 200 and /metrics with the last sync timestamp, on the requested back-end', async () => {
      const hz = await httpGetIn(nodeNs(), `http://${HEALTHZ}/healthz`);
      expect(hz).toMatchObject({ status: 200 });
      const m = await httpGetIn(nodeNs(), `http://${METRICS}/metrics`);
      if (!('status' in m)) throw new Error(`metrics: ${m.error}`);
      expect(metricValue(m.body, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds')).toBeGreaterThan(1_600_000_000);
      const other = backend === 'nft' ? 'legacy' : 'nft';
      expect(await save(`iptables-${backend}-save`, 'nat')).toContain('KUBE-SERVICES');
      expect(await save(`iptables-${other}-save`, 'nat')).not.toContain('KUBE-');
    });

    it('spreads ClusterIP traffic over the three endpoints on both nodes, and serves the NodePort', async () => {
      const t = tally(await tcpRequest(client().ns, '10.96.0.10', 80, { count: 40 }));
      expect([...t.keys()].sort()).toEqual(['web-a1', 'web-a2', 'web-b1']);
      const np = await tcpRequest(topo().client.ns, topo().node(NODE).ip, 30080, { count: 10 });
      expect(np.filter((r) => !r.ok)).toEqual([]);
      expect(tally(await udpRequest(client().ns, '10.96.0.53', 53, { count: 10 })).size).toBeGreaterThan(0);
    });

    it('applies an endpoint added by an atomic rename', async () => {
      const web = readFileSync(join(ctx.dir, 'web.yaml'), 'utf8');
      writeAtomically(ctx.dir, 'web.yaml', `${web}${endpointYaml('10.244.2.11', 'node-b')}`);
      await pollUntil('web-b2 serving 10.96.0.10', DEADLINE_MS, async () => {
        const t = tally(await tcpRequest(client().ns, '10.96.0.10', 80, { count: 20 }));
        return t.has('web-b2') ? t : undefined;
      });
    });

    it('stops serving a Service whose file is deleted', async () => {
      expect(await tcpRequest(client().ns, '10.96.0.30', 80)).toMatchObject([{ ok: true }]);
      rmSync(join(ctx.dir, 'web-sticky.yaml'));
      await pollUntil('10.96.0.30 gone from the nat table', DEADLINE_MS, async () =>
        (await save(`iptables-${backend}-save`, 'nat')).includes('10.96.0.30') ? undefined : true,
      );
      expect(await tcpRequest(client().ns, '10.96.0.30', 80, { timeoutMs: 1_500 })).toMatchObject([{ ok: false }]);
    });

    it('keeps the other services (and a broken file’s last good content) when a manifest is malformed', async () => {
      writeAtomically(ctx.dir, 'zz-broken.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n');
      writeAtomically(ctx.dir, 'echo-udp.yaml', 'kind: Service\nspec: {clusterIP: 10.96.0.54\n');
      writeAtomically(ctx.dir, 'late.yaml', serviceYaml('late', '10.96.0.60', '10.244.2.11'));
      await pollUntil('the Service added after the broken files is served', DEADLINE_MS, async () => {
        const [r] = await tcpRequest(client().ns, '10.96.0.60', 80, { timeoutMs: 1_000 });
        return r?.ok ? r : undefined;
      });
      expect(tally(await tcpRequest(client().ns, '10.96.0.10', 80, { count: 20 })).size).toBeGreaterThan(1);
      expect((await udpRequest(client().ns, '10.96.0.53', 53, { count: 5 })).filter((r) => !r.ok)).toEqual([]);
      const log = ctx.daemon?.output() ?? '';
      expect(log).toMatch(/manifest invalid.*zz-broken\.yaml/);
      expect(log).toMatch(/manifest invalid.*echo-udp\.yaml/);
    });

    it('leaves the rules in place on SIGTERM: requests still work after the daemon exits', async () => {
      const d = ctx.daemon;
      if (!d) throw new Error('daemon not started');
      await d.stop();
      expect(await d.exited).toBe(0);
      ctx.daemon = undefined;
      const replies = await tcpRequest(client().ns, '10.96.0.10', 80, { count: 20 });
      expect(replies.filter((r) => !r.ok)).toEqual([]);
      expect(await save(`iptables-${backend}-save`, 'nat')).toContain('KUBE-SVC-');
    });

    it('restarts under a steady request loop without one failed request', async () => {
      const load = spawnIn(client().ns, process.execPath, [LOAD_CLIENT, '10.96.0.10', '80', '3000'], { stdin: true });
      const countNow = (): number => Number(/count (\d+)\n(?!.*count)/s.exec(load.output())?.[1] ?? 0);
      await load.waitForLine((l) => l === 'count 20');
      ctx.daemon = startDaemon(nodeNs(), flags());
      await waitReady(ctx.daemon);
      const after = countNow();
      await load.waitForLine((l) => l === `count ${Math.ceil((after + 50) / 10) * 10}`);
      load.write('stop\n');
      const result = JSON.parse(await load.waitForLine((l) => l.startsWith('{'))) as { total: number; pods: Record<string, number>; failures: unknown[] };
      await load.stop();
      expect(result.failures).toEqual([]);
      expect(result.total).toBeGreaterThanOrEqual(after + 50);
      expect(Object.keys(result.pods).sort()).toEqual(['web-a1', 'web-a2', 'web-b1', 'web-b2']);
    });

    it('--cleanup removes every KUBE- chain of kube-proxy and leaves a foreign chain alone', async () => {
      await ctx.daemon?.stop();
      ctx.daemon = undefined;
      const ipt = (args: string[]) => execIn(nodeNs(), `iptables-${backend}`, args);
      await ipt(['-N', 'MY-CHAIN']);
      await ipt(['-A', 'MY-CHAIN', '-s', '203.0.113.0/24', '-j', 'DROP']);
      await ipt(['-I', 'INPUT', '-j', 'MY-CHAIN']);
      await ipt(['-t', 'nat', '-A', 'PREROUTING', '-d', '203.0.113.9', '-j', 'RETURN']);
      expect(await save(`iptables-${backend}-save`, 'nat')).toContain('KUBE-');

      const r = await runDaemonOnce(nodeNs(), ['--cleanup']);
      expect(r.code, r.output).toBe(0);
      for (const cmd of [`iptables-${backend}-save`, `ip6tables-${backend}-save`]) {
        for (const table of ['filter', 'nat', 'mangle']) {
          const ours = (await save(cmd, table)).split('\n').filter((l) => l.includes('KUBE-') && !KUBELET_CHAINS.test(l));
          expect(ours, `${cmd} -t ${table}`).toEqual([]);
        }
      }
      const filter = await save(`iptables-${backend}-save`, 'filter');
      expect(filter).toContain(':MY-CHAIN');
      expect(filter).toContain('-A INPUT -j MY-CHAIN');
      expect(filter).toContain('-A MY-CHAIN -s 203.0.113.0/24 -j DROP');
      expect(await save(`iptables-${backend}-save`, 'nat')).toContain('-A PREROUTING -d 203.0.113.9/32 -j RETURN');
      expect(await tcpRequest(client().ns, '10.96.0.10', 80, { timeoutMs: 1_500 })).toMatchObject([{ ok: false }]);
    });
  });
}

describeWith('daemon end to end, userspace mode', ['root', 'iptables'], () => {
  const { topo } = commonSetup(['--proxy-mode', 'userspace']);

  it('relays ClusterIP traffic from a pod to every endpoint', async () => {
    const replies = await tcpRequest(topo().pod('client-a').ns, '10.96.0.10', 80, { count: 30 });
    expect(replies.filter((r) => !r.ok)).toEqual([]);
    expect([...tally(replies).keys()].sort()).toEqual(['web-a1', 'web-a2', 'web-b1']);
  });
});
