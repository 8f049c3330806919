// Behaviour of the rendered rules, by tracing packets (upstream runPacketFlowTests cases from
// proxier_test.go, plus the features upstream tests elsewhere).
import { describe } from 'vitest';
import { endpointChainName } from './chain-names.ts';
import {
  ep, makeState, svcPort, TEST_EXTERNAL_CLIENT as EXT, TEST_EXTERNAL_CLIENT_BLOCKED as EXT_BLOCKED,
  TEST_NODE_IP as NODE, TEST_NODE_IP_ALT as NODE_ALT, TEST_NODE_IPV6, TEST_NODE_IPV6_ALT, upstreamOptions,
} from './testing/fixtures.ts';
import { runFlows } from './testing/flows.ts';

describe('ClusterIP (upstream TestClusterIPGeneral)', () => {
  const state = makeState('IPv4', [
    [svcPort('ns1', 'svc1', 'http', { clusterIP: '172.30.0.41' }), [ep('10.180.0.1', 80, { isLocal: true })]],
    [svcPort('ns2', 'svc2', 'http', { clusterIP: '172.30.0.42' }), [ep('10.180.0.1', 80, { isLocal: true }), ep('10.180.2.1', 80)]],
    [svcPort('ns2', 'svc2', 'https', { clusterIP: '172.30.0.42', port: 443 }), [ep('10.180.0.1', 8443, { isLocal: true }), ep('10.180.2.1', 8443)]],
    [svcPort('ns2', 'svc2', 'dns-udp', { clusterIP: '172.30.0.42', port: 53, protocol: 'UDP' }), [ep('10.180.0.1', 53), ep('10.180.2.1', 53)]],
    [svcPort('ns2', 'svc2', 'dns-tcp', { clusterIP: '172.30.0.42', port: 53 }), [ep('10.180.0.1', 5353), ep('10.180.2.1', 5353)]],
    [svcPort('ns2', 'svc2', 'dns-sctp', { clusterIP: '172.30.0.42', port: 53, protocol: 'SCTP' }), [ep('10.180.0.1', 53), ep('10.180.2.1', 53)]],
  ]);
  runFlows(state, upstreamOptions(), [
    { name: 'simple clusterIP', src: '10.180.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80' },
    { name: 'hairpin to cluster IP', src: '10.180.0.1', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true },
    { name: 'clusterIP with multiple endpoints', src: '10.180.0.2', dst: '172.30.0.42', dport: 80, output: '10.180.0.1:80, 10.180.2.1:80' },
    { name: 'clusterIP with TargetPort', src: '10.180.0.2', dst: '172.30.0.42', dport: 443, output: '10.180.0.1:8443, 10.180.2.1:8443' },
    { name: 'TCP on shared port', src: '10.180.0.2', dst: '172.30.0.42', dport: 53, protocol: 'tcp', output: '10.180.0.1:5353, 10.180.2.1:5353' },
    { name: 'UDP on shared port', src: '10.180.0.2', dst: '172.30.0.42', dport: 53, protocol: 'udp', output: '10.180.0.1:53, 10.180.2.1:53' },
    { name: 'SCTP on shared port', src: '10.180.0.2', dst: '172.30.0.42', dport: 53, protocol: 'sctp', output: '10.180.0.1:53, 10.180.2.1:53' },
    { name: 'TCP-only port does not match UDP', src: '10.180.0.2', dst: '172.30.0.42', dport: 80, protocol: 'udp', output: '' },
    { name: "svc1 does not accept svc2's ports", src: '10.180.0.2', dst: '172.30.0.41', dport: 443, output: '' },
    { name: 'off-cluster client to cluster IP is masqueraded', src: EXT, dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true },
    { name: 'node to cluster IP is masqueraded', src: NODE, dst: '172.30.0.41', dport: 80, origin: 'host', output: '10.180.0.1:80', masq: true },
  ]);
});

describe('masqueradeAll and no local detector', () => {
  const state = makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80'), [ep('10.180.0.1', 80)]]]);
  describe('masqueradeAll', () => {
    runFlows(state, upstreamOptions('IPv4', { masqueradeAll: true }), [
      { name: 'pod to cluster IP is masqueraded', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true },
    ]);
  });
  describe('no detector', () => {
    runFlows(state, upstreamOptions('IPv4', { localDetector: null }), [
      { name: 'external to cluster IP keeps its source', src: EXT, dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80' },
    ]);
  });
  describe('interface-prefix detector', () => {
    runFlows(state, upstreamOptions('IPv4', { localDetector: { ifLocal: '-i veth+', ifNotLocal: '! -i veth+' } }), [
      { name: 'traffic not from a veth is masqueraded', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true },
    ]);
  });
});

describe('LoadBalancer with source ranges (upstream TestLoadBalancer)', () => {
  const state = makeState('IPv4', [[
    svcPort('ns1', 'svc1', 'p80', { nodePort: 3001, loadBalancerVIPs: ['1.2.3.4', '5.6.7.8'], loadBalancerSourceRanges: ['192.168.0.0/24', '203.0.113.0/25'] }),
    [ep('10.180.0.1', 80)],
  ]]);
  const out = '10.180.0.1:80';
  runFlows(state, upstreamOptions(), [
    { name: 'pod to cluster IP', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: out },
    { name: 'external to nodePort', src: EXT, dst: NODE, dport: 3001, output: out, masq: true },
    { name: 'nodePort bypasses LoadBalancerSourceRanges', src: EXT_BLOCKED, dst: NODE, dport: 3001, output: out, masq: true },
    { name: 'accepted external to LB1', src: EXT, dst: '1.2.3.4', dport: 80, output: out, masq: true },
    { name: 'accepted external to LB2', src: EXT, dst: '5.6.7.8', dport: 80, output: out, masq: true },
    { name: 'blocked external to LB1', src: EXT_BLOCKED, dst: '1.2.3.4', dport: 80, output: 'DROP' },
    { name: 'blocked external to LB2', src: EXT_BLOCKED, dst: '5.6.7.8', dport: 80, output: 'DROP' },
    { name: 'pod to LB1 (blocked)', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: 'DROP' },
    { name: 'node to LB1 (allowed)', src: NODE, dst: '1.2.3.4', dport: 80, origin: 'host', output: out, masq: true },
    { name: 'same node to LB2, SNATted to LB2', src: '5.6.7.8', dst: '5.6.7.8', dport: 80, output: out, masq: true },
  ]);
});

describe('no endpoints (upstream TestNoEndpointsReject)', () => {
  const state = makeState('IPv4', [[
    svcPort('ns1', 'svc1', 'p80', { nodePort: 3001, externalIPs: ['192.168.99.11'], loadBalancerVIPs: ['1.2.3.4'] }), [],
  ]]);
  runFlows(state, upstreamOptions(), [
    { name: 'pod to cluster IP', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: 'REJECT' },
    { name: 'external to external IP', src: EXT, dst: '192.168.99.11', dport: 80, output: 'REJECT' },
    { name: 'pod to NodePort', src: '10.0.0.2', dst: NODE, dport: 3001, output: 'REJECT' },
    { name: 'external to NodePort', src: EXT, dst: NODE, dport: 3001, output: 'REJECT' },
    { name: 'node to NodePort', src: NODE, dst: NODE, dport: 3001, origin: 'host', output: 'REJECT' },
    { name: 'pod to LB IP', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: 'REJECT' },
    { name: 'external to LB IP', src: EXT, dst: '1.2.3.4', dport: 80, output: 'REJECT' },
  ]);
});

describe('externalTrafficPolicy: Local', () => {
  const svc = svcPort('ns1', 'svc1', 'p80', { nodePort: 3001, externalIPs: ['192.168.99.11'], loadBalancerVIPs: ['1.2.3.4'], externalPolicyLocal: true });
  describe('with a local endpoint', () => {
    runFlows(makeState('IPv4', [[svc, [ep('10.180.0.1', 80), ep('10.180.2.1', 80, { isLocal: true })]]]), upstreamOptions(), [
      { name: 'pod to cluster IP uses all endpoints', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80, 10.180.2.1:80' },
      { name: 'pod to LB IP is short-circuited to all endpoints', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: '10.180.0.1:80, 10.180.2.1:80' },
      { name: 'external to LB IP: local only, source kept', src: EXT, dst: '1.2.3.4', dport: 80, output: '10.180.2.1:80' },
      { name: 'external to external IP: local only', src: EXT, dst: '192.168.99.11', dport: 80, output: '10.180.2.1:80' },
      { name: 'external to NodePort: local only', src: EXT, dst: NODE, dport: 3001, output: '10.180.2.1:80' },
      { name: 'node to LB IP: all endpoints, masqueraded', src: NODE, dst: '1.2.3.4', dport: 80, origin: 'host', output: '10.180.0.1:80, 10.180.2.1:80', masq: true },
      { name: 'node to NodePort: masqueraded', src: NODE, dst: NODE, dport: 3001, origin: 'host', output: '10.180.0.1:80, 10.180.2.1:80', masq: true },
    ]);
  });
  describe('without a local endpoint', () => {
    runFlows(makeState('IPv4', [[svc, [ep('10.180.0.1', 80)]]]), upstreamOptions(), [
      { name: 'external to LB IP is dropped', src: EXT, dst: '1.2.3.4', dport: 80, output: 'DROP' },
      { name: 'external to NodePort is dropped', src: EXT, dst: NODE, dport: 3001, output: 'DROP' },
      { name: 'external to external IP is dropped', src: EXT, dst: '192.168.99.11', dport: 80, output: 'DROP' },
      { name: 'pod to LB IP still reaches the remote endpoint', src: '10.0.0.2', dst: '1.2.3.4', dport: 80, output: '10.180.0.1:80' },
      { name: 'pod to cluster IP unaffected', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80' },
    ]);
  });
});

describe('internalTrafficPolicy: Local', () => {
  const svc = svcPort('ns1', 'svc1', 'p80', { internalPolicyLocal: true });
  describe('with a local endpoint', () => {
    runFlows(makeState('IPv4', [[svc, [ep('10.180.0.1', 80, { isLocal: true }), ep('10.180.2.1', 80)]]]), upstreamOptions(), [
      { name: 'cluster IP reaches the local endpoint only', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80' },
    ]);
  });
  describe('without one', () => {
    runFlows(makeState('IPv4', [[svc, [ep('10.180.2.1', 80)]]]), upstreamOptions(), [
      { name: 'cluster IP is dropped, not rejected', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: 'DROP' },
    ]);
  });
});

describe('ClientIP session affinity', () => {
  const svc = svcPort('ns1', 'svc1', 'p80', { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } });
  const state = makeState('IPv4', [[svc, [ep('10.180.0.1', 80), ep('10.180.0.2', 80)]]]);
  const sep2 = endpointChainName('ns1/svc1:p80', 'TCP', '10.180.0.2:80');
  runFlows(state, upstreamOptions(), [
    { name: 'new client may reach any endpoint', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80, 10.180.0.2:80' },
    { name: 'known client sticks to its endpoint', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.2:80', recent: new Map([[sep2, new Set(['10.0.0.2'])]]) },
    { name: 'another client is not stuck', src: '10.0.0.3', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80, 10.180.0.2:80', recent: new Map([[sep2, new Set(['10.0.0.2'])]]) },
  ]);
});

describe('terminating endpoints fallback', () => {
  const svc = svcPort('ns1', 'svc1', 'p80');
  runFlows(makeState('IPv4', [[svc, [
    ep('10.180.0.1', 80, { ready: false, serving: true, terminating: true }),
    ep('10.180.0.2', 80, { ready: false, serving: false, terminating: true }),
  ]]]), upstreamOptions(), [
    { name: 'serving-terminating endpoint used when none is ready', src: '10.0.0.2', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80' },
  ]);
});

describe('localhost NodePorts and KUBE-FIREWALL', () => {
  const state = makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80', { nodePort: 3001 }), [ep('10.180.0.1', 80)]]]);
  runFlows(state, upstreamOptions(), [
    { name: 'localhost to NodePort is masqueraded', src: '127.0.0.1', dst: '127.0.0.1', dport: 3001, origin: 'host', output: '10.180.0.1:80', masq: true },
    { name: 'remote to a localhost port is dropped (CVE-2020-8558)', src: EXT, dst: '127.0.0.1', dport: 9999, output: 'DROP' },
  ]);
});

// upstream TestNodePorts: --nodeport-addresses × --iptables-localhost-nodeports × family.
describe.each([
  { name: 'ipv4, localhost-nodeports enabled', v6: false, lh: true, npa: [] as string[], alt: true },
  { name: 'ipv4, localhost-nodeports disabled', v6: false, lh: false, npa: [], alt: true },
  { name: 'ipv4, localhost disabled, localhost in nodeport-addresses', v6: false, lh: false, npa: ['192.168.0.0/24', '127.0.0.1/32'], alt: false },
  { name: 'ipv4, multiple nodeport-addresses', v6: false, lh: false, npa: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'], alt: true },
  { name: 'ipv6, localhost-nodeports enabled', v6: true, lh: true, npa: [], alt: true },
  { name: 'ipv6, localhost-nodeports disabled', v6: true, lh: false, npa: [], alt: true },
  { name: 'ipv6, multiple nodeport-addresses', v6: true, lh: false, npa: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'], alt: false },
])('NodePorts: $name', ({ v6, lh, npa, alt }) => {
  const family = v6 ? 'IPv6' : 'IPv4';
  const svcIP = v6 ? 'fd00:172:30::41' : '172.30.0.41';
  const [ep1, ep2] = v6 ? ['fd00:10:180::1', 'fd00:10:180::2:1'] : ['10.180.0.1', '10.180.2.1'];
  const state = makeState(family, [[svcPort('ns1', 'svc1', 'p80', { family, clusterIP: svcIP, nodePort: 3001 }), [ep(ep1, 80), ep(ep2, 80, { isLocal: true })]]]);
  const output = v6 ? `[${ep1}]:80, [${ep2}]:80` : `${ep1}:80, ${ep2}:80`;
  const pod = v6 ? 'fd00:10::2' : '10.0.0.2';
  const ext = v6 ? '2600:5200::1' : EXT;
  const node = v6 ? TEST_NODE_IPV6 : NODE;
  const altNode = v6 ? TEST_NODE_IPV6_ALT : NODE_ALT;
  const lo = v6 ? '::1' : '127.0.0.1';
  runFlows(state, upstreamOptions(family, { localhostNodePorts: lh, nodePortAddresses: npa }), [
    { name: 'pod to cluster IP', src: pod, dst: svcIP, dport: 80, output },
    { name: 'external to nodePort', src: ext, dst: node, dport: 3001, output, masq: true },
    { name: 'node to nodePort', src: node, dst: node, dport: 3001, origin: 'host', output, masq: true },
    !v6 && lh
      ? { name: 'localhost to nodePort gets masqueraded', src: lo, dst: lo, dport: 3001, origin: 'host', output, masq: true }
      : { name: 'localhost to nodePort is ignored', src: lo, dst: lo, dport: 3001, origin: 'host', output: '' },
    alt
      ? { name: 'external to nodePort on secondary IP', src: ext, dst: altNode, dport: 3001, output, masq: true }
      : { name: 'secondary nodePort is not accepted', src: ext, dst: altNode, dport: 3001, output: '' },
  ]);
});
