import { describe, expect, it } from 'vitest';
import { endpoint, servicePort } from '../../model/testing/fixtures.ts';
import type { Endpoint, ServicePort } from '../../model/types.ts';
import { staleUdpFlows, type UdpFlow } from './conntrack-reconcile.ts';

const dns = servicePort('ns', 'dns', { name: 'ns/dns:dns', protocol: 'UDP', port: 53, clusterIP: '10.96.0.10', externalIPs: ['203.0.113.5'], loadBalancerVIPs: ['198.51.100.7'], nodePort: 30053 });
const tcp = servicePort('ns', 'web', { name: 'ns/web:http', protocol: 'TCP', port: 80, clusterIP: '10.96.0.20', nodePort: 30080 });
const v6 = servicePort('ns', 'dns6', { name: 'ns/dns6:dns', family: 'IPv6', protocol: 'UDP', port: 53, clusterIP: 'fd00:10:96::10' });
const ep = (ip: string, port = 5353, over: Partial<Endpoint> = {}): Endpoint => endpoint(ip, port, over);
const flow = (origDst: string, origDstPort: number, replySrc: string, replySrcPort: number): UdpFlow => ({ origDst, origDstPort, replySrc, replySrcPort });

describe('staleUdpFlows (upstream CleanStaleEntries)', () => {
  const a = '10.244.1.10';
  const b = '10.244.2.10';
  it.each<{ name: string; services: ServicePort[]; eps: Record<string, Endpoint[]>; flows: UdpFlow[]; want: string[] }>([
    { name: 'a flow to a serving endpoint stays', services: [dns], eps: { 'ns/dns:dns': [ep(a)] }, flows: [flow('10.96.0.10', 53, a, 5353)], want: [] },
    { name: 'an endpoint gone: its ClusterIP flow goes', services: [dns], eps: { 'ns/dns:dns': [ep(b)] }, flows: [flow('10.96.0.10', 53, a, 5353), flow('10.96.0.10', 53, b, 5353)], want: [`s 10.96.0.10:53 ${a}:5353`] },
    { name: 'N endpoints to 0 (kubernetes#139628): every NATed flow goes', services: [dns], eps: {}, flows: [flow('10.96.0.10', 53, a, 5353), flow('198.51.100.7', 53, b, 5353)], want: [`s 10.96.0.10:53 ${a}:5353`, `s 198.51.100.7:53 ${b}:5353`] },
    { name: '0 to some: the un-NATed flow from the REJECT time goes', services: [dns], eps: { 'ns/dns:dns': [ep(a)] }, flows: [flow('10.96.0.10', 53, '10.96.0.10', 53)], want: ['s 10.96.0.10:53 10.96.0.10:53'] },
    { name: 'targetPort changed on the same pod (v1.34): the old port goes', services: [dns], eps: { 'ns/dns:dns': [ep(a, 5354)] }, flows: [flow('10.96.0.10', 53, a, 5353), flow('10.96.0.10', 53, a, 5354)], want: [`s 10.96.0.10:53 ${a}:5353`] },
    { name: 'externalIP and LB IP flows are checked like the ClusterIP', services: [dns], eps: { 'ns/dns:dns': [ep(b)] }, flows: [flow('203.0.113.5', 53, a, 5353), flow('198.51.100.7', 53, b, 5353)], want: [`s 203.0.113.5:53 ${a}:5353`] },
    { name: 'NodePort flows to a stale endpoint go (by port)', services: [dns], eps: { 'ns/dns:dns': [ep(b)] }, flows: [flow('192.0.2.11', 30053, a, 5353), flow('192.0.2.11', 30053, b, 5353)], want: [`n 30053 ${a}:5353`] },
    { name: 'a terminating but serving endpoint still counts', services: [dns], eps: { 'ns/dns:dns': [ep(a, 5353, { ready: false, serving: true, terminating: true })] }, flows: [flow('10.96.0.10', 53, a, 5353)], want: [] },
    { name: 'a not-serving endpoint does not', services: [dns], eps: { 'ns/dns:dns': [ep(a, 5353, { ready: false, serving: false })] }, flows: [flow('10.96.0.10', 53, a, 5353)], want: [`s 10.96.0.10:53 ${a}:5353`] },
    { name: 'TCP services and unknown destinations are left alone', services: [tcp], eps: {}, flows: [flow('10.96.0.20', 80, a, 80), flow('10.96.0.99', 53, a, 53), flow('192.0.2.11', 30080, a, 80)], want: [] },
    { name: 'a service port gone from the state is not ours to judge', services: [], eps: {}, flows: [flow('10.96.0.10', 53, a, 5353)], want: [] },
    { name: 'IPv6', services: [v6], eps: { 'ns/dns6:dns': [ep('fd00:10:244:1::10')] }, flows: [flow('fd00:10:96::10', 53, 'fd00:10:244:2::10', 5353), flow('fd00:10:96::10', 53, 'fd00:10:244:1::10', 5353)], want: ['s [fd00:10:96::10]:53 [fd00:10:244:2::10]:5353'] },
  ])('$name', ({ services, eps, flows, want }) => {
    const got = staleUdpFlows(flows, services, new Map(Object.entries(eps))).map((f) => {
      const r = f.replySrc.includes(':') ? `[${f.replySrc}]:${f.replySrcPort}` : `${f.replySrc}:${f.replySrcPort}`;
      return f.kind === 'nodeport' ? `n ${f.port} ${r}` : `s ${f.ip.includes(':') ? `[${f.ip}]` : f.ip}:${f.port} ${r}`;
    });
    expect(got).toEqual(want);
  });

  it('asks for one deletion per stale (destination, reply) pair, however many flows share it', () => {
    const flows = [flow('10.96.0.10', 53, a, 5353), flow('10.96.0.10', 53, a, 5353)];
    expect(staleUdpFlows(flows, [dns], new Map())).toHaveLength(1);
  });
});
