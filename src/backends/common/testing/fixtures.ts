// Mode-neutral fixtures for every mode's unit tests: the node, Service ports, endpoints and
// ProxyStates shaped like upstream proxier_test.go (makeTestService, NewFakeProxier's node).
import type { Endpoint, IPFamily, NodeInfo, ProxyState, ServicePort, ServicePortName } from '../../../model/types.ts';
import { endpoint, servicePort } from '../../../model/testing/fixtures.ts';

export const TEST_NODE = 'test-node';
export const TEST_NODE_IP = '192.168.0.2';
export const TEST_NODE_IP_ALT = '192.168.1.2';
export const TEST_EXTERNAL_IP = '192.168.99.11';
export const TEST_NODE_IPV6 = '2001:db8::1';
export const TEST_NODE_IPV6_ALT = '2001:db8:1::2';
export const TEST_EXTERNAL_CLIENT = '203.0.113.2';
export const TEST_EXTERNAL_CLIENT_BLOCKED = '203.0.113.130';
export const TEST_LOCAL_ADDRESSES = ['127.0.0.1', '::1', TEST_NODE_IP, TEST_NODE_IP_ALT, TEST_EXTERNAL_IP, TEST_NODE_IPV6, TEST_NODE_IPV6_ALT];

export const testNode: NodeInfo = { name: TEST_NODE, labels: {}, zone: '', podCIDRs: [], eligible: true };

export function svcPort(ns: string, name: string, portName: string, over: Partial<ServicePort> = {}): ServicePort {
  const family = over.family ?? 'IPv4';
  return servicePort(ns, name, { portName, clusterIP: family === 'IPv4' ? '172.30.0.41' : 'fd00:172:30::41', ...over });
}

export function ep(ip: string, port: number, over: Partial<Endpoint> = {}): Endpoint {
  return endpoint(ip, port, { nodeName: over.isLocal ? TEST_NODE : '', ...over });
}

export function makeState(
  family: IPFamily,
  entries: ReadonlyArray<readonly [ServicePort, readonly Endpoint[]]>,
  over: Partial<ProxyState> = {},
): ProxyState {
  const services = new Map<ServicePortName, ServicePort>();
  const endpoints = new Map<ServicePortName, readonly Endpoint[]>();
  for (const [s, eps] of entries) {
    services.set(s.name, s);
    if (eps.length > 0) endpoints.set(s.name, eps);
  }
  return {
    family, services, endpoints, node: testNode,
    changedServices: new Set(), changedEndpoints: new Set(), removedEndpoints: new Map(), full: true,
    ...over,
  };
}
