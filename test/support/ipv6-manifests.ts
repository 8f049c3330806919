// The manifests of the IPv6 / dual-stack end-to-end test (test/iptables-ipv6-e2e.test.ts), built
// from a dual-stack topology's pod addresses: single-stack IPv6 Services of each kind, one
// dual-stack Service, and the Node with both families' podCIDRs and InternalIPs. Services live in
// fd00:10:96::/112 (IPv6) and 10.96.0.0/16 (IPv4); Services are files of their own so a test can
// rewrite one EndpointSlice file without touching its Service.
import type { Topology } from './topology.ts';

export const SVC = {
  /** NodePort 30080, Cluster policy, external IP webExternal: web-a1, web-a2, web-b1. */
  web: 'fd00:10:96::10',
  webExternal: '2001:db8:0:ee::10',
  /** LoadBalancer, NodePort 30081, externalTrafficPolicy Local (health check 32081): web-a1 (node-a), web-b1 (node-b). */
  local: 'fd00:10:96::11',
  localVIP: '2001:db8:0:ff::11',
  /** ClientIP affinity: web-a1, web-a2, web-b1. */
  sticky: 'fd00:10:96::12',
  /** No endpoints; TCP 80 (NodePort 30083) and UDP 53 (NodePort 30084). */
  empty: 'fd00:10:96::13',
  /** web-a1 only: web-a1 reaching it hairpins. */
  self: 'fd00:10:96::14',
  /** UDP 53 → 5353: web-a1, web-b1. */
  dns: 'fd00:10:96::53',
  /** UDP 53 → 5353: web-b1, until a test moves it. */
  udpMove: 'fd00:10:96::54',
  /** LoadBalancer (NodePort 30085) with this ingress IP, source ranges: the client only; web-b1. */
  lb: 'fd00:10:96::15',
  lbVIP: '2001:db8:0:ff::10',
  /** LoadBalancer, NodePort 30086, Local policy (health check 32086) with web-b1 only: none on node-a. */
  remoteOnly: 'fd00:10:96::16',
  remoteOnlyVIP: '2001:db8:0:ff::16',
  /** internalTrafficPolicy Local: web-a2 (node-a), web-b2 (node-b). */
  itpLocal: 'fd00:10:96::17',
  /** The dual-stack Service's two ClusterIPs (NodePort 30082): web-a2, web-b2 in each family. */
  dual4: '10.96.0.20',
  dual6: 'fd00:10:96::20',
} as const;

type Family = 'IPv4' | 'IPv6';
export interface PortSpec {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly targetPort?: number;
  readonly nodePort?: number;
}

export const HTTP: PortSpec = { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 };
const DNS: PortSpec = { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 };

/** One EndpointSlice of `service` (namespace v6) with ready endpoints `[ip, nodeName]`. */
export function endpointSliceYaml(service: string, family: Family, endpoints: readonly (readonly [string, string])[], port: PortSpec): string {
  const eps = endpoints.map(([ip, node]) => `  - addresses: ["${ip}"]\n    conditions: { ready: true, serving: true, terminating: false }\n    nodeName: ${node}\n`);
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${service}-${family.toLowerCase()}, namespace: v6, labels: { kubernetes.io/service-name: ${service} } }
addressType: ${family}
ports: [{ name: ${port.name}, protocol: ${port.protocol}, port: ${port.targetPort ?? port.port} }]
endpoints:${eps.length === 0 ? ' []\n' : `\n${eps.join('')}`}`;
}

/** A Service; `extra` is more spec lines, `lbIPs` makes it a LoadBalancer with that status. */
export function serviceYaml(name: string, clusterIPs: readonly string[], ports: readonly PortSpec[], extra = '', lbIPs: readonly string[] = []): string {
  const families = clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4'));
  const type = lbIPs.length > 0 ? 'LoadBalancer' : ports.some((p) => p.nodePort !== undefined) ? 'NodePort' : 'ClusterIP';
  const status = lbIPs.length === 0 ? '' : `status:\n  loadBalancer:\n    ingress:\n${lbIPs.map((ip) => `      - ip: "${ip}"\n`).join('')}`;
  const portLines = ports.map(
    (p) =>
      `    - { name: ${p.name}, protocol: ${p.protocol}, port: ${p.port}, targetPort: ${p.targetPort ?? p.port}${p.nodePort === undefined ? '' : `, nodePort: ${p.nodePort}`} }`,
  );
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: v6 }
spec:
  type: ${type}
  clusterIP: "${clusterIPs[0] ?? ''}"
  clusterIPs: [${clusterIPs.map((ip) => `"${ip}"`).join(', ')}]
  ipFamilies: [${families.join(', ')}]
  ipFamilyPolicy: ${clusterIPs.length > 1 ? 'RequireDualStack' : 'SingleStack'}
${extra}  ports:
${portLines.join('\n')}
${status}`;
}

/** The LoadBalancer Service with these loadBalancerSourceRanges (file lb-svc.yaml). */
export function lbServiceYaml(sourceRanges: readonly string[]): string {
  const ranges = `  loadBalancerSourceRanges: [${sourceRanges.map((r) => `"${r}"`).join(', ')}]\n`;
  return serviceYaml('lb', [SVC.lb], [{ ...HTTP, nodePort: 30085 }], ranges, [SVC.lbVIP]);
}

/** File name → content, for a temporary --manifests directory. */
export function dualStackManifests(topo: Topology): Map<string, string> {
  const at = (pod: string, family: Family): readonly [string, string] => {
    const p = topo.pod(pod);
    const ip = family === 'IPv4' ? p.ip : p.ip6;
    if (ip === undefined) throw new Error(`pod ${pod} has no ${family} address (topology built without ipv6?)`);
    return [ip, p.node];
  };
  const six = (...pods: string[]) => pods.map((p) => at(p, 'IPv6'));
  const files = new Map<string, string>();
  // Both Nodes, each with an InternalIP per family: the daemon's node IPs (upstream detectNodeIPs).
  for (const node of topo.nodes) {
    files.set(
      `node-${node.name}.yaml`,
      `apiVersion: v1
kind: Node
metadata: { name: ${node.name}, labels: { kubernetes.io/hostname: ${node.name} } }
spec:
  podCIDR: ${node.podCIDR}
  podCIDRs: [${node.podCIDR}, "${node.podCIDR6 ?? ''}"]
status:
  addresses:
    - { type: InternalIP, address: ${node.ip} }
    - { type: InternalIP, address: "${node.ip6 ?? ''}" }
`,
    );
  }
  const add = (name: string, svc: string, ...slices: string[]): void => {
    files.set(`${name}-svc.yaml`, svc);
    if (slices.length > 0) files.set(`${name}.yaml`, slices.join('---\n'));
  };
  add('web', serviceYaml('web', [SVC.web], [{ ...HTTP, nodePort: 30080 }], `  externalIPs: ["${SVC.webExternal}"]\n`), endpointSliceYaml('web', 'IPv6', six('web-a1', 'web-a2', 'web-b1'), HTTP));
  add(
    'local',
    serviceYaml('local', [SVC.local], [{ ...HTTP, nodePort: 30081 }], '  externalTrafficPolicy: Local\n  healthCheckNodePort: 32081\n', [SVC.localVIP]),
    endpointSliceYaml('local', 'IPv6', six('web-a1', 'web-b1'), HTTP),
  );
  add(
    'sticky',
    serviceYaml('sticky', [SVC.sticky], [HTTP], '  sessionAffinity: ClientIP\n  sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }\n'),
    endpointSliceYaml('sticky', 'IPv6', six('web-a1', 'web-a2', 'web-b1'), HTTP),
  );
  add('empty', serviceYaml('empty', [SVC.empty], [{ ...HTTP, nodePort: 30083 }, { ...DNS, nodePort: 30084 }]));
  add('self', serviceYaml('self', [SVC.self], [HTTP]), endpointSliceYaml('self', 'IPv6', six('web-a1'), HTTP));
  add('dns', serviceYaml('dns', [SVC.dns], [DNS]), endpointSliceYaml('dns', 'IPv6', six('web-a1', 'web-b1'), DNS));
  add('udp-move', serviceYaml('udp-move', [SVC.udpMove], [DNS]), endpointSliceYaml('udp-move', 'IPv6', six('web-b1'), DNS));
  add(
    'remote-only',
    serviceYaml('remote-only', [SVC.remoteOnly], [{ ...HTTP, nodePort: 30086 }], '  externalTrafficPolicy: Local\n  healthCheckNodePort: 32086\n', [SVC.remoteOnlyVIP]),
    endpointSliceYaml('remote-only', 'IPv6', six('web-b1'), HTTP),
  );
  add('itp-local', serviceYaml('itp-local', [SVC.itpLocal], [HTTP], '  internalTrafficPolicy: Local\n'), endpointSliceYaml('itp-local', 'IPv6', six('web-a2', 'web-b2'), HTTP));
  add('lb', lbServiceYaml(['2001:db8:0:2::100/128']), endpointSliceYaml('lb', 'IPv6', six('web-b1'), HTTP));
  add(
    'dual',
    serviceYaml('dual', [SVC.dual4, SVC.dual6], [{ ...HTTP, nodePort: 30082 }]),
    endpointSliceYaml('dual', 'IPv4', [at('web-a2', 'IPv4'), at('web-b2', 'IPv4')], HTTP),
    endpointSliceYaml('dual', 'IPv6', six('web-a2', 'web-b2'), HTTP),
  );
  return files;
}

/** The Service chain's rule marking traffic to `ip` for masquerade, as iptables-save prints it. */
export function masqRule(nat: string, ip: string): string | undefined {
  return nat.split('\n').find((l) => l.startsWith('-A KUBE-SVC-') && l.includes(` -d ${ip}/`) && l.endsWith(' -j KUBE-MARK-MASQ'));
}
