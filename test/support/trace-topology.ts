// The namespace topology and manifests the trace end-to-end tests share (test/trace-e2e.test.ts,
// test/trace-userspace-e2e.test.ts): node-a runs the daemon, node-b holds remote endpoints.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TraceReport } from '../../src/trace/trace-types.ts';
import { DAEMON_BIN } from './daemon.ts';

export const NODE = 'node-a';
export const EXAMPLES = fileURLToPath(new URL('../../examples/manifests', import.meta.url));

// Beside the examples (web 10.96.0.10, web-nodeport 30080, web-local 30081 ETP Local, web-sticky
// 10.96.0.30): a Service without endpoints, a load balancer with source ranges the client is not
// in, and an ETP Local NodePort whose only endpoint is on the other node.
export const EXTRA = `apiVersion: v1
kind: Service
metadata: { name: empty, namespace: demo }
spec:
  clusterIP: 10.96.0.70
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: ranged, namespace: demo }
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.71
  loadBalancerSourceRanges: [203.0.113.0/24]
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: 30071 }]
status: { loadBalancer: { ingress: [{ ip: 198.51.100.71 }] } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ranged-1, namespace: demo, labels: { kubernetes.io/service-name: ranged } }
addressType: IPv4
ports: [{ name: http, protocol: TCP, port: 8080 }]
endpoints:
  - addresses: [10.244.2.10]
    conditions: { ready: true }
    nodeName: node-b
---
apiVersion: v1
kind: Service
metadata: { name: remote-only, namespace: demo }
spec:
  type: NodePort
  clusterIP: 10.96.0.72
  externalTrafficPolicy: Local
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: 30072 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: remote-only-1, namespace: demo, labels: { kubernetes.io/service-name: remote-only } }
addressType: IPv4
ports: [{ name: http, protocol: TCP, port: 8080 }]
endpoints:
  - addresses: [10.244.2.10]
    conditions: { ready: true }
    nodeName: node-b
`;

export const topologySpec = {
  nodes: [
    { name: NODE, pods: [{ name: 'web-a1' }, { name: 'web-a2' }, { name: 'client-a', tcpPorts: [], udpPorts: [] }] },
    { name: 'node-b', pods: [{ name: 'web-b1' }, { name: 'web-b2' }] },
  ],
  tcpPorts: [8080],
  udpPorts: [5353],
};


export interface TraceRun {
  readonly code: number | null;
  readonly report: TraceReport | null;
  readonly stderr: string;
}

/** `kube-proxy-ts trace ARGS --json` run inside the node namespace `ns`, as an operator on the node. */
export function traceIn(ns: string, args: readonly string[]): TraceRun {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, DAEMON_BIN, 'trace', ...args, '--json'], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, report: r.status === 2 ? null : (JSON.parse(r.stdout) as TraceReport), stderr: r.stderr };
}
