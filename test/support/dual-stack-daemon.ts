// The fixture of the IPv6 / dual-stack end-to-end test (test/iptables-ipv6-e2e.test.ts): a
// dual-stack topology (node-a: web-a1, web-a2, client-a; node-b: web-b1, web-b2; echo servers on
// 8080/TCP and 5353/UDP), a temporary --manifests directory from ipv6-manifests.ts, and the real
// daemon in node-a on one iptables back-end, ready once its IPv6 proxier has written the Services.
// Call inside a describe: it registers the hooks and returns accessors.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { HEALTHZ, METRICS, pollUntil, registerDaemonSuiteTeardown, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './daemon.ts';
import { dualStackManifests, SVC } from './ipv6-manifests.ts';
import { execIn } from './netns.ts';
import { buildTopology, sysctlIn, type PodHandle, type Topology } from './topology.ts';

export const NODE = 'node-a';
/** Generous: the manifest source applies a change within ~1 s, then the 1 s min-sync-period applies. */
export const DEADLINE_MS = 15_000;

const topologySpec = {
  ipv6: true,
  nodes: [
    { name: NODE, pods: [{ name: 'web-a1' }, { name: 'web-a2' }, { name: 'client-a', tcpPorts: [], udpPorts: [] }] },
    { name: 'node-b', pods: [{ name: 'web-b1' }, { name: 'web-b2' }] },
  ],
  tcpPorts: [8080],
  udpPorts: [5353],
};

/** Write by rename, as operators (and config-management tools) should. */
export function writeAtomically(dir: string, name: string, text: string): void {
  writeFileSync(join(dir, `.${name}.tmp`), text);
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
}

/** The IPv6 address of a node, pod or client of a dual-stack topology. */
export function v6(x: { readonly ip6?: string | undefined }): string {
  if (x.ip6 === undefined) throw new Error('topology built without ipv6');
  return x.ip6;
}

export interface DualStackDaemon {
  readonly ctx: { topo: Topology | undefined; dir: string; daemon: Daemon | undefined };
  topo(): Topology;
  /** The daemon's flags for `node` (default node-a) and back-end (default the suite's). */
  flags(node?: string, iptablesBackend?: string): string[];
  nodeNs(): string;
  client(): PodHandle;
  /** `CMD -t TABLE` (an iptables-save) in node-a. */
  save(cmd: string, table: string): Promise<string>;
}

/** `proxyMode` nftables: the same topology and manifests for test/nftables-e2e.test.ts. */
export function dualStackDaemon(backend: 'legacy' | 'nft', opts: { readonly proxyMode?: 'iptables' | 'nftables' } = {}): DualStackDaemon {
  const nftables = opts.proxyMode === 'nftables';
  const ctx: DualStackDaemon['ctx'] = { topo: undefined, dir: '', daemon: undefined };
  let restoreLock: (() => void) | undefined;
  const topo = (): Topology => {
    if (!ctx.topo) throw new Error('topology not built');
    return ctx.topo;
  };
  const flags = (node: string = NODE, iptablesBackend: string = backend): string[] => [
    '--manifests', ctx.dir, '--hostname-override', node, '--healthz-bind-address', HEALTHZ,
    '--metrics-bind-address', METRICS, '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56', '--iptables-backend', iptablesBackend,
    // Periodic syncs (and so canary checks) every 3 s instead of 30 s, for the flush test.
    '--iptables-sync-period', '3s',
    ...(nftables ? ['--proxy-mode', 'nftables'] : []),
  ];
  const nodeNs = (): string => topo().node(NODE).ns;
  const save = async (cmd: string, table: string): Promise<string> => (await execIn(nodeNs(), cmd, ['-t', table])).stdout;

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ctx.topo = await buildTopology(topologySpec);
    ctx.dir = mkdtempSync(join(tmpdir(), 'kpt-v6-manifests-'));
    for (const [name, text] of dualStackManifests(ctx.topo)) writeFileSync(join(ctx.dir, name), text);
    // UDP flows outlive the tests' deadlines, so a flow gone after an endpoint change was deleted
    // by the daemon, not expired (namespace-local sysctl).
    await sysctlIn(nodeNs(), 'net.netfilter.nf_conntrack_udp_timeout', '600');
    ctx.daemon = startDaemon(nodeNs(), flags());
    await waitReady(ctx.daemon);
    // The first sync covers both families; wait until the IPv6 one wrote the Services too.
    await pollUntil('IPv6 services programmed', DEADLINE_MS, async () =>
      nftables
        ? (await execIn(nodeNs(), 'nft', ['list', 'map', 'ip6', 'kube-proxy', 'service-ips'])).stdout.includes(SVC.web) ? true : undefined
        : (await save(`ip6tables-${backend}-save`, 'nat')).includes(`${SVC.web}/128`) ? true : undefined,
    );
  }, 120_000);
  registerDaemonSuiteTeardown(ctx, () => restoreLock);
  return { ctx, topo, flags, nodeNs, client: () => topo().pod('client-a'), save };
}
