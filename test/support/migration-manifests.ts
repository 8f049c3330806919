// The cluster both migration tests run (test/migration-uml.test.ts in the IPVS test kernel,
// test/userspace-migration.test.ts in namespaces): one NodePort Service, its pods on one node.

/** Service default/web (10.96.0.10:80, NodePort 30080 → 8080) with `podIPs` as ready endpoints on `node`. */
export function webNodePortManifest(node: string, podIPs: readonly string[]): string {
  return `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  ipFamilies: [IPv4]
  ports: [{ name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30080 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: default
  labels: { kubernetes.io/service-name: web }
addressType: IPv4
endpoints:
${podIPs.map((ip) => `  - { addresses: [${ip}], conditions: { ready: true, serving: true, terminating: false }, nodeName: ${node} }`).join('\n')}
ports: [{ name: http, port: 8080, protocol: TCP }]
`;
}
