// The fixture of the IPv6-only node tests (test/iptables-ipv6-only.test.ts): an IPv6-only
// topology (ipv6-only-topology.ts; node-a: web-a1, client-a; node-b: web-b1), single-stack IPv6
// Services and Nodes with IPv6 podCIDRs and InternalIPs only, and the real daemon in node-a with
// an IPv6-only --cluster-cidr, ready once ip6tables holds the Services. Call inside a describe.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { HEALTHZ, METRICS, pollUntil, registerDaemonSuiteTeardown, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './daemon.ts';
import { endpointSliceYaml, HTTP, serviceYaml, type PortSpec } from './ipv6-manifests.ts';
import { execIn } from './netns.ts';
import { startDaemonWithPath } from './path-without.ts';
import { buildIPv6OnlyTopology, type V6OnlyTopology } from './ipv6-only-topology.ts';
import type { Topology } from './topology.ts';

export const V6_ONLY = {
  /** NodePort 30080: web-a1, web-b1. */
  web: 'fd00:10:96::10',
  /** UDP 53 → 5353, NodePort 30053: web-a1, web-b1. */
  dns: 'fd00:10:96::53',
  /** LoadBalancer (this ingress IP), NodePort 30081, externalTrafficPolicy Local (health check 32081): web-a1, web-b1. */
  local: 'fd00:10:96::11',
  localVIP: '2001:db8:0:ff::11',
} as const;

const DNS: PortSpec = { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353, nodePort: 30053 };

function manifests(topo: V6OnlyTopology): Map<string, string> {
  const files = new Map<string, string>();
  for (const n of topo.nodes) {
    files.set(
      `node-${n.name}.yaml`,
      `apiVersion: v1
kind: Node
metadata: { name: ${n.name}, labels: { kubernetes.io/hostname: ${n.name} } }
spec: { podCIDR: "${n.podCIDR6}", podCIDRs: ["${n.podCIDR6}"] }
status: { addresses: [{ type: InternalIP, address: "${n.ip6}" }] }
`,
    );
  }
  const eps = ['web-a1', 'web-b1'].map((p) => [topo.pod(p).ip6, topo.pod(p).node] as const);
  files.set('web-svc.yaml', serviceYaml('web', [V6_ONLY.web], [{ ...HTTP, nodePort: 30080 }]));
  files.set('web.yaml', endpointSliceYaml('web', 'IPv6', eps, HTTP));
  files.set('dns-svc.yaml', serviceYaml('dns', [V6_ONLY.dns], [DNS]));
  files.set('dns.yaml', endpointSliceYaml('dns', 'IPv6', eps, DNS));
  const local = '  externalTrafficPolicy: Local\n  healthCheckNodePort: 32081\n';
  files.set('local-svc.yaml', serviceYaml('local', [V6_ONLY.local], [{ ...HTTP, nodePort: 30081 }], local, [V6_ONLY.localVIP]));
  files.set('local.yaml', endpointSliceYaml('local', 'IPv6', eps, HTTP));
  return files;
}

export interface IPv6OnlyDaemon {
  topo(): V6OnlyTopology;
  nodeNs(): string;
  daemon(): Daemon;
  save(cmd: string, table: string): Promise<string>;
  /** Stop the daemon and start it again with the fixture's flags plus `extra` (and this PATH), until ready. */
  restart(extra: readonly string[], path?: string): Promise<void>;
}

export function ipv6OnlyDaemon(backend: 'legacy' | 'nft'): IPv6OnlyDaemon {
  // The shared teardown wants a Topology; it only calls teardown() on it.
  const ctx: { topo: Topology | undefined; dir: string; daemon: Daemon | undefined } = { topo: undefined, dir: '', daemon: undefined };
  let topo: V6OnlyTopology | undefined;
  let restoreLock: (() => void) | undefined;
  const t = (): V6OnlyTopology => {
    if (!topo) throw new Error('topology not built');
    return topo;
  };
  const nodeNs = (): string => t().node('node-a').ns;
  const save = async (cmd: string, table: string): Promise<string> => (await execIn(nodeNs(), cmd, ['-t', table])).stdout;
  const flags = (): string[] => [
    '--manifests', ctx.dir, '--hostname-override', 'node-a', '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
    '--cluster-cidr', 'fd00:10:244::/56', '--iptables-backend', backend, '--iptables-sync-period', '3s',
    // Explicit, as v1.37 asks: left to default, the mode is warned about (the test wants no warning).
    '--proxy-mode', 'iptables',
  ];
  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    topo = await buildIPv6OnlyTopology([['node-a', ['web-a1', 'client-a']], ['node-b', ['web-b1']]]);
    ctx.topo = { teardown: topo.teardown } as Topology;
    ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-v6g-only-'));
    for (const [name, text] of manifests(topo)) writeFileSync(join(ctx.dir, name), text);
    ctx.daemon = startDaemon(nodeNs(), flags());
    await waitReady(ctx.daemon);
    await pollUntil('IPv6 services programmed', 15_000, async () =>
      (await save(`ip6tables-${backend}-save`, 'nat')).includes(`${V6_ONLY.web}/128`) ? true : undefined,
    );
  }, 120_000);
  registerDaemonSuiteTeardown(ctx, () => restoreLock);
  return {
    topo: t,
    nodeNs,
    daemon: () => {
      if (!ctx.daemon) throw new Error('daemon not started');
      return ctx.daemon;
    },
    save,
    async restart(extra, path) {
      await ctx.daemon?.stop();
      ctx.daemon = path === undefined ? startDaemon(nodeNs(), [...flags(), ...extra]) : startDaemonWithPath(nodeNs(), path, [...flags(), ...extra]);
      await waitReady(ctx.daemon);
    },
  };
}
