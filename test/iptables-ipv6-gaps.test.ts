// IPv6 end to end, the cases test/iptables-ipv6-e2e.test.ts leaves out (issue 3): UDP NodePort
// conntrack clean-up, --masquerade-all, local-traffic detection modes other than ClusterCIDR, and
// a host without ip6tables (the IPv6-only node is test/iptables-ipv6-only.test.ts). The real daemon
// in network namespaces, real packets; once per back-end. This reuses that suite's dual-stack
// fixture (test/support/dual-stack-daemon.ts) and restarts the daemon with the flags a test is about.
import { beforeAll, expect, it } from 'vitest';
import { httpGetIn, pollUntil, startDaemon, waitReady } from './support/daemon.ts';
import { DEADLINE_MS, dualStackDaemon, NODE, v6, writeAtomically } from './support/dual-stack-daemon.ts';
import { endpointSliceYaml, HTTP, masqRule, serviceYaml, SVC, type PortSpec } from './support/ipv6-manifests.ts';
import { execIn, ipIn, sysctlIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { tally, tcpRequest, udpRequest } from './support/topology.ts';
import { addRoutedPod, type RoutedPod } from './support/routed-pod.ts';
import { openUdpFlow } from './support/udp-flow.ts';
import { pathWithout, startDaemonWithPath } from './support/path-without.ts';

/** Services this file adds to the dual-stack fixture's manifests. */
const GAP = {
  /** UDP 53 → 5353, NodePort 30055, Cluster policy: web-b1, until the test changes it. */
  udpNodePort: 'fd00:10:96::55',
  /** UDP 53 → 5353, NodePort 30056: written only by its test, while clients already send to it. */
  udpNew: 'fd00:10:96::56',
  /** IPv4 single-stack, TCP 80 → 8080: web-a1 only, the IPv4 twin of SVC.self. */
  self4: '10.96.0.21',
} as const;
/** The routed pod's address: in the cluster CIDR, outside node-a's bridge subnet. */
const ROUTED_POD_IP = 'fd00:10:244:99::99';
const UDP_NP: PortSpec = { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353, nodePort: 30055 };

const BACKENDS = ['legacy', 'nft'] as const;

for (const backend of BACKENDS) {
  describeWith(`IPv6 coverage gaps on a dual-stack node, iptables mode (${backend})`, ['root', 'iptables', 'conntrack'], () => {
    const { ctx, topo, flags, nodeNs, client, save } = dualStackDaemon(backend);
    const ip6of = (pod: string) => v6(topo().pod(pod));
    const udpSlice = (...pods: string[]) => endpointSliceYaml('gap-udp-np', 'IPv6', pods.map((p) => [ip6of(p), topo().pod(p).node] as const), UDP_NP);
    let routedPod: RoutedPod | undefined;
    const routed = (): RoutedPod => {
      if (!routedPod) throw new Error('routed pod not set up');
      return routedPod;
    };
    const nats = async (): Promise<[string, string]> => [await save(`iptables-${backend}-save`, 'nat'), await save(`ip6tables-${backend}-save`, 'nat')];

    /** Restart the daemon in node-a with the fixture's flags plus `extra`; wait until `written` holds of (nat4, nat6). */
    const restartWith = async (extra: readonly string[], written: (nat4: string, nat6: string) => boolean, path?: string): Promise<void> => {
      await ctx.daemon?.stop();
      ctx.daemon = path === undefined ? startDaemon(nodeNs(), [...flags(), ...extra]) : startDaemonWithPath(nodeNs(), path, [...flags(), ...extra]);
      await waitReady(ctx.daemon);
      await pollUntil(`rules of ${extra.join(' ')} written`, DEADLINE_MS, async () => (written(...(await nats())) ? true : undefined));
    };

    beforeAll(async () => {
      writeAtomically(ctx.dir, 'gap-udp-np-svc.yaml', serviceYaml('gap-udp-np', [GAP.udpNodePort], [UDP_NP]));
      writeAtomically(ctx.dir, 'gap-udp-np.yaml', udpSlice('web-b1'));
      const a1 = topo().pod('web-a1');
      writeAtomically(ctx.dir, 'gap-self4-svc.yaml', serviceYaml('gap-self4', [GAP.self4], [HTTP]));
      writeAtomically(ctx.dir, 'gap-self4.yaml', endpointSliceYaml('gap-self4', 'IPv4', [[a1.ip, a1.node]], HTTP));
      // Assured UDP flows (answered, several datagrams) live by the stream timeout: outlive the deadlines too.
      await sysctlIn(nodeNs(), 'net.netfilter.nf_conntrack_udp_timeout_stream', '600');
      // node-b runs no proxy here: its pods' Service traffic is routed to node-a, so node-a sees pod
      // sources from outside its own pod CIDR (what tells NodeCIDR from ClusterCIDR detection).
      const nodeB = topo().node('node-b');
      await ipIn(nodeB.ns, ['-6', 'route', 'add', 'fd00:10:96::/112', 'via', v6(topo().node(NODE))]);
      await ipIn(nodeB.ns, ['route', 'add', '10.96.0.0/16', 'via', topo().node(NODE).ip]);
      routedPod = await addRoutedPod(nodeNs(), 'cali1', ROUTED_POD_IP);
      // As the CNI would: the other node routes that pod's block to node-a.
      await ipIn(nodeB.ns, ['-6', 'route', 'add', `${ROUTED_POD_IP}/128`, 'via', v6(topo().node(NODE))]);
      await pollUntil('gap Services programmed', DEADLINE_MS, async () => {
        const [nat4, nat6] = await nats();
        return nat6.includes(`${GAP.udpNodePort}/128`) && nat4.includes(`${GAP.self4}/32`) ? true : undefined;
      });
    }, 60_000);

    // upstream pkg/proxy/conntrack/cleanup.go: for an endpoint gone from a UDP Service, the flows to
    // each Service IP and to the NodePort that were NATed to it (reply source = endpoint) are deleted,
    // in the endpoint's family; a flow to the node's IPv6 address:NodePort is one of them.
    it('deletes the IPv6 UDP NodePort and ClusterIP flows of a removed endpoint: long-lived clients move on', async () => {
      const external = await openUdpFlow(topo().client.ns, v6(topo().node(NODE)), 30055, 40055);
      const inPod = await openUdpFlow(client().ns, GAP.udpNodePort, 53, 40056);
      try {
        expect(await external.send()).toEqual(['web-b1']);
        expect(await inPod.send()).toEqual(['web-b1']);
        // web-a1 joins: new flows may go to it, established ones stay where they are (nothing deleted).
        writeAtomically(ctx.dir, 'gap-udp-np.yaml', udpSlice('web-b1', 'web-a1'));
        await pollUntil('web-a1 serves gap-udp-np', DEADLINE_MS, async () =>
          tally(await udpRequest(client().ns, GAP.udpNodePort, 53, { count: 10, timeoutMs: 1_000 })).has('web-a1') ? true : undefined,
        );
        expect(await external.send(5)).toEqual(Array(5).fill('web-b1'));
        expect(await inPod.send(5)).toEqual(Array(5).fill('web-b1'));
        const flows = async (): Promise<string> =>
          (await execIn(nodeNs(), 'conntrack', ['-L', '-f', 'ipv6', '-p', 'udp', '--orig-port-dst', '30055'])).stdout;
        expect(await flows()).toContain(`src=${ip6of('web-b1')}`);
        // web-b1 leaves: only the daemon's clean-up can move these flows (600 s timeouts).
        writeAtomically(ctx.dir, 'gap-udp-np.yaml', udpSlice('web-a1'));
        for (const [what, flow] of [['NodePort', external], ['ClusterIP', inPod]] as const) {
          await pollUntil(`${what} flow answered by web-a1`, DEADLINE_MS, async () => ((await flow.send())[0] === 'web-a1' ? true : undefined));
          expect(await flow.send(5), what).toEqual(Array(5).fill('web-a1'));
        }
        expect(await flows()).not.toContain(`src=${ip6of('web-b1')}`);
      } finally {
        await external.stop();
        await inPod.stop();
      }
    });

    // upstream pkg/proxy/conntrack/cleanup.go: a UDP Service port that gets endpoints has every flow
    // to its IPs and NodePort deleted. A client that sent before the Service existed left a flow
    // without NAT (refused by the node's own stack for the NodePort; routed off towards the switch,
    // which drops it, for the ClusterIP) that its next datagrams would keep following.
    it('deletes the un-NATed IPv6 UDP flows of a Service that gets endpoints: early clients reach it', async () => {
      const port: PortSpec = { ...UDP_NP, nodePort: 30056 };
      const external = await openUdpFlow(topo().client.ns, v6(topo().node(NODE)), 30056, 40057);
      const inPod = await openUdpFlow(client().ns, GAP.udpNew, 53, 40058);
      try {
        // Refused by node-a's own stack (or unanswered, should ICMPv6 rate limiting swallow the error).
        expect(['error:ECONNREFUSED', 'timeout']).toContain((await external.send())[0]);
        expect(await inPod.send()).toEqual(['timeout']);
        const flows = (await execIn(nodeNs(), 'conntrack', ['-L', '-f', 'ipv6', '-p', 'udp', '--orig-port-dst', '30056'])).stdout;
        expect(flows).toContain(`src=${v6(topo().node(NODE))}`);
        writeAtomically(ctx.dir, 'gap-udp-new.yaml', endpointSliceYaml('gap-udp-new', 'IPv6', [[ip6of('web-a1'), NODE]], port));
        writeAtomically(ctx.dir, 'gap-udp-new-svc.yaml', serviceYaml('gap-udp-new', [GAP.udpNew], [port]));
        for (const [what, flow] of [['NodePort', external], ['ClusterIP', inPod]] as const) {
          await pollUntil(`${what} flow answered by web-a1`, DEADLINE_MS, async () => ((await flow.send())[0] === 'web-a1' ? true : undefined));
        }
      } finally {
        await external.stop();
        await inPod.stop();
      }
    });

    // The mirror of the IPv6-only node's case below: without ip6tables the IPv6 family is skipped
    // with a log (upstream platformCheckSupported) and IPv4 is served; before, start-up failed.
    it('runs IPv4 alone, with a log, when ip6tables is not installed', async () => {
      const bin = pathWithout(/^ip6tables/);
      try {
        await restartWith([], () => true, bin.path);
        expect(ctx.daemon?.output()).toMatch(/no iptables support for this family.*ipFamily=IPv6/);
        expect([...tally(await tcpRequest(client().ns, SVC.dual4, 80, { count: 20 })).keys()].sort()).toEqual(['web-a2', 'web-b2']);
        expect(await httpGetIn(nodeNs(), 'http://127.0.0.1:10256/healthz')).toMatchObject({ status: 200 });
      } finally {
        bin.remove();
      }
    });

    // upstream proxier.go: with masqueradeAll the Service chain marks every packet to the cluster IP
    // (`-d CLUSTER_IP ... -j KUBE-MARK-MASQ`), instead of only non-local ones.
    it('--masquerade-all masquerades a pod’s IPv6 (and IPv4) cluster IP traffic too, not Local external traffic', async () => {
      const masqAll = (nat: string, ip: string): boolean => masqRule(nat, ip)?.includes(' ! ') === false;
      await restartWith(['--masquerade-all'], (nat4, nat6) => masqAll(nat6, SVC.web) && masqAll(nat4, SVC.dual4));
      const node = topo().node(NODE);
      for (const [ip, sources] of [
        [SVC.web, [node.bridgeIP6, node.ip6]],
        [SVC.dual4, [node.bridgeIP, node.ip]],
      ] as const) {
        const replies = await tcpRequest(client().ns, ip, 80, { count: 30 });
        expect(replies.filter((r) => !r.ok), ip).toEqual([]);
        // Local endpoints see the pod bridge's address, web-b1/web-b2 node-a's underlay address.
        expect([...new Set(replies.map((r) => r.ok && r.source))].sort(), ip).toEqual([...sources].sort());
      }
      const udp = await udpRequest(client().ns, SVC.dns, 53, { count: 20 });
      expect(udp.some((r) => !r.ok || r.source === ip6of('client-a'))).toBe(false);
      // Only cluster IP traffic: external traffic to a Local-policy NodePort keeps the client's address.
      expect(await tcpRequest(topo().client.ns, node.ip6 ?? '', 30081, { count: 5 })).toEqual(Array(5).fill({ ok: true, pod: 'web-a1', source: v6(topo().client) }));
    });

    // upstream pkg/proxy/util/localdetector.go: NodeCIDR is the node's podCIDR of the family (from its
    // Node object), BridgeInterface `-i BRIDGE`, InterfaceNamePrefix `-i PREFIX+`. Traffic to a
    // ClusterIP from a non-local source is masqueraded; a local one keeps its address. Sources:
    // node-a's bridged pod (in on cbr0), a routed pod on node-a (in on cali1, in the cluster CIDR
    // but not node-a's podCIDR; IPv6 only), node-b's pod (routed to node-a by the test route: in
    // on eth0, in the cluster CIDR) and the off-cluster client (in on eth0).
    const MODES = [
      { mode: 'ClusterCIDR', extra: [], frag: ['! -s 10.244.0.0/16', '! -s fd00:10:244::/56'], kept: ['bridged', 'routed', 'node-b'] },
      { mode: 'NodeCIDR', extra: [], frag: ['! -s 10.244.1.0/24', '! -s fd00:10:244:1::/64'], kept: ['bridged'] },
      { mode: 'BridgeInterface', extra: ['--pod-bridge-interface', 'cbr0'], frag: ['! -i cbr0', '! -i cbr0'], kept: ['bridged'] },
      { mode: 'InterfaceNamePrefix', extra: ['--pod-interface-name-prefix', 'cali'], frag: ['! -i cali+', '! -i cali+'], kept: ['routed'] },
    ] as const;
    for (const m of MODES) {
      it(`--detect-local-mode ${m.mode}: its rule decides which ClusterIP traffic is masqueraded, IPv6 and IPv4`, async () => {
        const [frag4, frag6] = m.frag;
        await restartWith(['--detect-local-mode', m.mode, ...m.extra], (nat4, nat6) =>
          masqRule(nat4, GAP.self4)?.includes(frag4) === true && masqRule(nat6, SVC.self)?.includes(frag6) === true,
        );
        const node = topo().node(NODE);
        const [a, b2, outside] = [topo().pod('client-a'), topo().pod('web-b2'), topo().client];
        const kept = (source: string): boolean => (m.kept as readonly string[]).includes(source);
        for (const f of [
          { ip: SVC.self, masq: v6({ ip6: node.bridgeIP6 }), from: [['bridged', a.ns, v6(a)], ['routed', routed().ns, routed().ip6], ['node-b', b2.ns, v6(b2)], ['outside', outside.ns, v6(outside)]] },
          { ip: GAP.self4, masq: node.bridgeIP, from: [['bridged', a.ns, a.ip], ['node-b', b2.ns, b2.ip], ['outside', outside.ns, outside.ip]] },
        ] as const) {
          for (const [source, ns, ip] of f.from) {
            expect((await tcpRequest(ns, f.ip, 80))[0], `${f.ip} from ${source}`).toEqual({ ok: true, pod: 'web-a1', source: kept(source) ? ip : f.masq });
          }
        }
        // The same detector sends a local pod's traffic to an IPv6 load-balancer IP straight to the
        // Service's cluster-wide endpoints (`pod traffic for ... external destinations`), while the
        // outside client gets externalTrafficPolicy Local: node-a's endpoint only, its address kept.
        const [pod, podIP] = kept('bridged') ? [a.ns, v6(a)] : [routed().ns, routed().ip6];
        const fromPod = await tcpRequest(pod, SVC.localVIP, 80, { count: 30 });
        expect([...tally(fromPod).keys()].sort()).toEqual(['web-a1', 'web-b1']);
        expect(new Set(fromPod.map((r) => r.ok && r.source))).toEqual(new Set([podIP]));
        expect(await tcpRequest(outside.ns, SVC.localVIP, 80, { count: 5 })).toEqual(Array(5).fill({ ok: true, pod: 'web-a1', source: v6(outside) }));
      });
    }
  });
}
