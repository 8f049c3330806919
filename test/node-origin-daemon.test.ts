// Traffic from the node itself (issue 13), as the kubelet and hostNetwork pods send it: the real
// daemon in each mode that runs on this kernel (iptables, userspace, nftables; the ipvs mode's twin is
// test/ipvs-node-traffic.test.ts in the IPVS test kernel) serves a dual-stack LoadBalancer Service
// with externalIPs, and node-1's own namespace connects to its ClusterIP, externalIP and LB IP
// over TCP and UDP, IPv4 and IPv6. The externalIPs are node-1 addresses (on lo), as externalIPs
// routed to a node are: the userspace mode serves host traffic to an externalIP only when it is
// local (upstream v1.25 openOnePortal), the other modes either way.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTHZ, METRICS, pollUntil, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, ipIn, tcpRequest, udpRequest, type Reply, type Topology } from './support/topology.ts';

const ADDRS = {
  IPv4: { cluster: '10.96.0.10', external: '192.0.2.50', lb: '198.51.100.10' },
  IPv6: { cluster: 'fd00:10:96::10', external: '2001:db8:0:2::50', lb: '2001:db8:51::10' },
} as const;

function manifests(ip4: string, ip6: string): string {
  const slice = (family: 'IPv4' | 'IPv6', ip: string): string => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-${family}, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: ${family}
endpoints: [{ addresses: ["${ip}"], conditions: { ready: true }, nodeName: node-1 }]
ports: [{ name: http, port: 80, protocol: TCP }, { name: dns, port: 53, protocol: UDP }]
`;
  return `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: ${ADDRS.IPv4.cluster}
  clusterIPs: [${ADDRS.IPv4.cluster}, "${ADDRS.IPv6.cluster}"]
  externalIPs: [${ADDRS.IPv4.external}, "${ADDRS.IPv6.external}"]
  ports:
  - { name: http, port: 80, protocol: TCP, targetPort: 80, nodePort: 30080 }
  - { name: dns, port: 53, protocol: UDP, targetPort: 53, nodePort: 30053 }
status:
  loadBalancer:
    ingress: [{ ip: ${ADDRS.IPv4.lb} }, { ip: "${ADDRS.IPv6.lb}" }]
${slice('IPv4', ip4)}${slice('IPv6', ip6)}`;
}

const answers = (rs: readonly Reply[]): string[] => rs.map((r) => (r.ok ? r.pod : `error:${r.error}`));

for (const mode of ['iptables', 'userspace', 'nftables'] as const) {
  describeWith(`${mode} mode: traffic from the node itself`, ['root', 'iptables'], () => {
    let topo: Topology | undefined;
    let daemon: Daemon | undefined;
    let dir = '';
    let restoreLock: (() => void) | undefined;

    beforeAll(async () => {
      restoreLock = usePrivateXtablesLock();
      topo = await buildTopology({ ipv6: true, nodes: [{ name: 'node-1', pods: [{ name: 'web-1' }] }] });
      const ns = topo.node('node-1').ns;
      await ipIn(ns, ['addr', 'add', `${ADDRS.IPv4.external}/32`, 'dev', 'lo']);
      await ipIn(ns, ['-6', 'addr', 'add', `${ADDRS.IPv6.external}/128`, 'dev', 'lo', 'nodad']);
      const web = topo.pod('web-1');
      dir = mkdtempSync(join(tmpdir(), `kpt-node-origin-${mode}-`));
      writeFileSync(join(dir, 'web.yaml'), manifests(web.ip, web.ip6 ?? ''));
      daemon = startDaemon(ns, [
        '--manifests', dir, '--hostname-override', 'node-1', '--proxy-mode', mode,
        '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56', '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS,
      ]);
      await waitReady(daemon);
    }, 120_000);
    afterAll(async () => {
      await daemon?.stop();
      await topo?.teardown();
      if (dir) rmSync(dir, { recursive: true, force: true });
      restoreLock?.();
    });

    describe.each(['IPv4', 'IPv6'] as const)('%s', (family) => {
      it.each([
        ['ClusterIP', 'tcp'], ['ClusterIP', 'udp'], ['externalIP', 'tcp'], ['externalIP', 'udp'], ['LoadBalancer IP', 'tcp'], ['LoadBalancer IP', 'udp'],
      ] as const)('%s over %s reaches the pod', async (what, proto) => {
        const a = ADDRS[family];
        const ip = what === 'ClusterIP' ? a.cluster : what === 'externalIP' ? a.external : a.lb;
        const ns = topo?.node('node-1').ns ?? '';
        const send = (): Promise<Reply[]> => (proto === 'tcp' ? tcpRequest(ns, ip, 80, { count: 3 }) : udpRequest(ns, ip, 53, { count: 3 }));
        // Each family's proxier syncs on its own: poll until this one's rules answer.
        const replies = await pollUntil(`${family} ${what} ${proto} from the node`, 20_000, async () => {
          const r = await send();
          return r.every((x) => x.ok) ? r : undefined;
        }).catch(async () => send());
        expect(answers(replies)).toEqual(['web-1', 'web-1', 'web-1']);
      });
    });
  });
}
