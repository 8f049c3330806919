// Behaviour of the rendered table, traced packet by packet (testing/packet-tracer.ts), with the
// cases of upstream's nftables packet-flow tests (TestClusterIPGeneral, TestLoadBalancer,
// TestNoEndpointsReject, the Local-policy and hairpin cases) on the TestOverallNFTablesRules
// services plus a few more.
import { describe, expect, it } from 'vitest';
import { ep, svcPort } from '../iptables/testing/fixtures.ts';
import { overallState } from '../iptables/testing/upstream-cases.ts';
import { renderTransaction } from './render.ts';
import { FakeTable } from './testing/fake-table.ts';
import { upstreamNftOptions } from './testing/fixtures.ts';
import { PacketTracer, type TracePacket, type TraceResult } from './testing/packet-tracer.ts';

const NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];

function tracer(): PacketTracer {
  const base = overallState();
  const services = new Map(base.services);
  const endpoints = new Map(base.endpoints);
  const add = (s: ReturnType<typeof svcPort>, eps: ReturnType<typeof ep>[]): void => {
    services.set(s.name, s);
    endpoints.set(s.name, eps);
  };
  add(svcPort('ns7', 'multi', 'dns', { clusterIP: '172.30.0.47', port: 53, protocol: 'UDP' }), [ep('10.180.0.7', 5353), ep('10.180.2.7', 5353)]);
  add(svcPort('ns8', 'lb', 'p80', { clusterIP: '172.30.0.48', nodePort: 3008, loadBalancerVIPs: ['1.2.3.8'], loadBalancerSourceRanges: ['192.168.0.0/24', '203.0.113.0/25'] }), [ep('10.180.0.8', 80)]);
  add(svcPort('ns9', 'local', 'p80', { clusterIP: '172.30.0.49', nodePort: 3009, externalPolicyLocal: true }), [ep('10.180.0.9', 80, { isLocal: true }), ep('10.180.2.9', 80)]);
  const table = new FakeTable();
  table.apply(renderTransaction({ state: { ...base, services, endpoints }, opts: upstreamNftOptions(), nowMs: 0 }).transaction);
  return new PacketTracer(table, NODE_IPS);
}

describe('nftables packet flows', () => {
  const t = tracer();
  it.each<[string, TracePacket, TraceResult]>([
    ['pod to cluster IP', { source: '10.0.0.2', dest: '172.30.0.41', port: 80 }, { output: '10.180.0.1:80', masq: false }],
    ['two endpoints, both reachable', { source: '10.0.0.2', dest: '172.30.0.44', port: 80 }, { output: '10.180.0.4:80, 10.180.0.5:80', masq: false }],
    ['hairpin: a local endpoint reaching itself is masqueraded', { source: '10.180.0.5', dest: '172.30.0.44', port: 80 }, { output: '10.180.0.4:80, 10.180.0.5:80', masq: true }],
    ['off-cluster source to cluster IP is masqueraded', { source: '203.0.113.2', dest: '172.30.0.41', port: 80 }, { output: '10.180.0.1:80', masq: true }],
    ['node to cluster IP', { source: '192.168.0.2', dest: '172.30.0.41', port: 80, fromNode: true }, { output: '10.180.0.1:80', masq: true }],
    ['UDP with a target port', { source: '10.0.0.2', dest: '172.30.0.47', port: 53, protocol: 'udp' }, { output: '10.180.0.7:5353, 10.180.2.7:5353', masq: false }],
    ['TCP to a UDP-only port is rejected', { source: '10.0.0.2', dest: '172.30.0.47', port: 53 }, { output: 'REJECT', masq: false }],
    ['undefined port of a ClusterIP is rejected', { source: '10.0.0.2', dest: '172.30.0.41', port: 443 }, { output: 'REJECT', masq: false }],
    ['unallocated ClusterIP is dropped', { source: '10.0.0.2', dest: '172.30.0.99', port: 80 }, { output: 'DROP', masq: false }],
    ['no endpoints: REJECT', { source: '10.0.0.2', dest: '172.30.0.46', port: 80 }, { output: 'REJECT', masq: false }],
    ['external to NodePort, Cluster policy: masqueraded', { source: '203.0.113.2', dest: '192.168.0.2', port: 3003 }, { output: '10.180.0.3:80', masq: true }],
    ['NodePort only on nodeport-ips (not the alt node IP)', { source: '203.0.113.2', dest: '192.168.1.2', port: 3003 }, { output: 'ACCEPT', masq: false }],
    ['external to external IP', { source: '203.0.113.2', dest: '192.168.99.33', port: 80 }, { output: '10.180.0.4:80, 10.180.0.5:80', masq: true }],
    ['LB IP from an allowed range', { source: '203.0.113.2', dest: '1.2.3.8', port: 80 }, { output: '10.180.0.8:80', masq: true }],
    ['LB IP from a blocked source is dropped before DNAT', { source: '203.0.113.130', dest: '1.2.3.8', port: 80 }, { output: 'DROP', masq: false }],
    ['NodePort bypasses loadBalancerSourceRanges', { source: '203.0.113.130', dest: '192.168.0.2', port: 3008 }, { output: '10.180.0.8:80', masq: true }],
    ['ETP Local: external client keeps its address, local endpoint only', { source: '203.0.113.2', dest: '192.168.0.2', port: 3009 }, { output: '10.180.0.9:80', masq: false }],
    ['ETP Local: pod traffic short-circuits to every endpoint', { source: '10.0.0.3', dest: '192.168.0.2', port: 3009 }, { output: '10.180.0.9:80, 10.180.2.9:80', masq: false }],
    ['ETP Local: node traffic is masqueraded and goes to every endpoint', { source: '192.168.0.2', dest: '192.168.0.2', port: 3009, fromNode: true }, { output: '10.180.0.9:80, 10.180.2.9:80', masq: true }],
    ['ETP Local without local endpoints: external traffic dropped', { source: '203.0.113.2', dest: '192.168.0.2', port: 3001 }, { output: 'DROP', masq: false }],
    ['ETP Local without local endpoints: pods still short-circuit', { source: '10.0.0.3', dest: '1.2.3.4', port: 80 }, { output: '10.180.0.2:80', masq: false }],
    ['affinity service: every endpoint chain reachable', { source: '10.0.0.2', dest: '172.30.0.45', port: 80 }, { output: '10.180.0.3:80', masq: false }],
  ])('%s', (_name, packet, expected) => {
    expect(t.trace(packet)).toEqual(expected);
  });

  it('fails on a rule form it does not know', () => {
    const table = new FakeTable();
    table.apply('add table ip kube-proxy\nadd chain ip kube-proxy filter-prerouting-pre-dnat\nadd rule ip kube-proxy filter-prerouting-pre-dnat tcp dport 80 counter\n');
    expect(() => new PacketTracer(table, []).trace({ source: '10.0.0.1', dest: '10.0.0.2', port: 80 })).toThrow(/does not know/);
  });
});
