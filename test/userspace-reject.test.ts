// The userspace mode's filter rules end to end, both families, in namespaces (issue 13): a
// Service with no endpoints is refused at once (upstream's iptables-mode REJECT rules) from a pod,
// from the node itself and from outside, and is served again by the very sync in which its
// endpoints appear (an EndpointSlice-only change); loadBalancerSourceRanges lets only the listed
// sources (and the node itself) reach the daemon through the LB IP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoint, servicePort } from '../src/model/testing/fixtures.ts';
import type { Endpoint, IPFamily, ServicePort } from '../src/model/types.ts';
import type { NsProcess } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { runnerSender, USERSPACE_RUNNER } from './support/userspace-runner-client.ts';
import { buildTopology, execIn, spawnIn, tally, tcpRequest, udpRequest, type Reply, type Topology } from './support/topology.ts';

interface FamilyCase {
  readonly family: IPFamily;
  readonly clusterIP: string;
  readonly dnsIP: string;
  readonly lbIP: string;
  readonly fwIP: string;
  readonly otherRange: string;
}

const CASES: readonly FamilyCase[] = [
  { family: 'IPv4', clusterIP: '10.96.0.10', dnsIP: '10.96.0.53', lbIP: '198.51.100.7', fwIP: '198.51.100.8', otherRange: '203.0.113.0/24' },
  { family: 'IPv6', clusterIP: 'fd00:10:96::10', dnsIP: 'fd00:10:96::53', lbIP: '2001:db8:51::7', fwIP: '2001:db8:51::8', otherRange: '2001:db8:113::/64' },
];

const errors = (replies: readonly Reply[]): string[] => replies.map((r) => (r.ok ? `ok:${r.pod}` : r.error));

describeWith('userspace mode: REJECT without endpoints, loadBalancerSourceRanges (namespaces)', ['root', 'iptables'], () => {
  let topo: Topology;
  const runners = new Map<IPFamily, { p: NsProcess; send: (cmd: object) => Promise<string> }>();

  beforeAll(async () => {
    topo = await buildTopology({
      ipv6: true,
      nodes: [{ name: 'node-1', pods: [{ name: 'pod-a' }, { name: 'client-pod', tcpPorts: [], udpPorts: [] }] }],
    });
    const n1 = topo.node('node-1');
    for (const family of ['IPv4', 'IPv6'] as const) {
      const p = spawnRunner(n1.ns, family === 'IPv4' ? n1.ip : (n1.ip6 ?? ''), family);
      runners.set(family, { p, send: runnerSender(p) });
      await p.waitForLine((l) => l === 'ready');
    }
  });

  afterAll(async () => {
    for (const r of runners.values()) await r.p.stop();
    await topo?.teardown();
  });

  const spawnRunner = (ns: string, hostIP: string, family: IPFamily): NsProcess =>
    spawnIn(ns, process.execPath, [USERSPACE_RUNNER, hostIP, family], { stdin: true });

  // iptables 1.8 cuts such a comment itself; the payload cuts it first so what is rendered (and
  // logged, and shown by --dry-run) is what the kernel holds. portal-rules.test.ts pins the text.
  it('cuts a comment longer than xt_comment holds (255) and the portal still serves', async () => {
    const r = runners.get('IPv4');
    if (!r) throw new Error('no IPv4 runner');
    const long = servicePort('default', 'long', { name: `default/${'x'.repeat(300)}:p`, clusterIP: '10.96.0.77' });
    await r.send({ op: 'sync', services: [long], endpoints: { [long.name]: [endpoint(topo.pod('pod-a').ip, 80, { nodeName: 'node-1', isLocal: true })] }, full: true });
    const nat = (await execIn(topo.node('node-1').ns, 'iptables-save', ['-t', 'nat'])).stdout;
    // iptables-save may quote it; 8 + 247 = 255 characters either way.
    expect(nat).toMatch(new RegExp(`--comment "?default/x{247}"? `));
    expect(errors(await tcpRequest(topo.pod('client-pod').ns, '10.96.0.77', 80))).toEqual(['ok:pod-a']);
  });

  describe.each(CASES)('$family', (c) => {
    const svc = (name: string, over: Partial<ServicePort>): ServicePort =>
      servicePort('default', name, { name: `default/${name}:p`, family: c.family, ...over });
    const web = svc('web', { clusterIP: c.clusterIP, nodePort: 30080, loadBalancerVIPs: [c.lbIP] });
    const dns = svc('dns', { clusterIP: c.dnsIP, protocol: 'UDP', port: 53, nodePort: 30053 });
    const podIP = (name: string): string => (c.family === 'IPv4' ? topo.pod(name).ip : (topo.pod(name).ip6 ?? ''));
    const nodeIP = (): string => (c.family === 'IPv4' ? topo.node('node-1').ip : (topo.node('node-1').ip6 ?? ''));
    const clientIP = (): string => (c.family === 'IPv4' ? topo.client.ip : (topo.client.ip6 ?? ''));
    const ep = (ip: string, port: number): Endpoint => endpoint(ip, port, { nodeName: 'node-1', isLocal: true });
    const send = (cmd: object): Promise<string> => {
      const r = runners.get(c.family);
      if (!r) throw new Error(`no ${c.family} runner`);
      return r.send(cmd);
    };

    it('refuses TCP and UDP at once from a pod, the node itself and the outside while there are no endpoints', async () => {
      await send({ op: 'sync', services: [web, dns], endpoints: {}, full: true });
      const quick = { count: 1, timeoutMs: 2_000 };
      const pod = topo.pod('client-pod').ns;
      const node = topo.node('node-1').ns;
      const got = {
        podTcp: errors(await tcpRequest(pod, c.clusterIP, 80, quick)),
        podUdp: errors(await udpRequest(pod, c.dnsIP, 53, quick)),
        podLb: errors(await tcpRequest(pod, c.lbIP, 80, quick)),
        nodeTcp: errors(await tcpRequest(node, c.clusterIP, 80, quick)),
        nodeUdp: errors(await udpRequest(node, c.dnsIP, 53, quick)),
        nodeNodePort: errors(await tcpRequest(node, nodeIP(), 30080, quick)),
        outsideNodePort: errors(await tcpRequest(topo.client.ns, nodeIP(), 30080, quick)),
        outsideUdpNodePort: errors(await udpRequest(topo.client.ns, nodeIP(), 30053, quick)),
        outsideLb: errors(await tcpRequest(topo.client.ns, c.lbIP, 80, quick)),
      };
      const refused = ['ECONNREFUSED'];
      expect(got).toEqual({
        podTcp: refused,
        podUdp: refused,
        podLb: refused,
        nodeTcp: refused,
        nodeUdp: refused,
        nodeNodePort: refused,
        outsideNodePort: refused,
        outsideUdpNodePort: refused,
        outsideLb: refused,
      });
    });

    it('serves the Service in the sync where its endpoints appear (no Service change)', async () => {
      const endpoints = { [web.name]: [ep(podIP('pod-a'), 80)], [dns.name]: [ep(podIP('pod-a'), 53)] };
      await send({ op: 'sync', services: [web, dns], endpoints, full: false, changedServices: [] });
      const pod = topo.pod('client-pod').ns;
      const node = topo.node('node-1').ns;
      expect(errors(await tcpRequest(pod, c.clusterIP, 80))).toEqual(['ok:pod-a']);
      expect(errors(await udpRequest(pod, c.dnsIP, 53))).toEqual(['ok:pod-a']);
      expect(errors(await tcpRequest(node, c.clusterIP, 80))).toEqual(['ok:pod-a']);
      expect(errors(await udpRequest(node, c.dnsIP, 53))).toEqual(['ok:pod-a']);
      expect(errors(await tcpRequest(topo.client.ns, c.lbIP, 80))).toEqual(['ok:pod-a']);
      // And back to none: refused again, again without a Service change.
      await send({ op: 'sync', services: [web, dns], endpoints: {}, full: false, changedServices: [] });
      expect(errors(await tcpRequest(pod, c.clusterIP, 80, { timeoutMs: 2_000 }))).toEqual(['ECONNREFUSED']);
      expect(errors(await udpRequest(node, c.dnsIP, 53, { timeoutMs: 2_000 }))).toEqual(['ECONNREFUSED']);
    });

    it('lets only the listed sources and the node itself through the LB IP', async () => {
      const endpoints = { 'default/fw:p': [ep(podIP('pod-a'), 80)] };
      const fw = (ranges: string[]): ServicePort => svc('fw', { clusterIP: c.clusterIP, loadBalancerVIPs: [c.fwIP], loadBalancerSourceRanges: ranges });
      const probe = async (): Promise<Record<string, string[]>> => ({
        outside: errors(await tcpRequest(topo.client.ns, c.fwIP, 80, { timeoutMs: 1_500 })),
        pod: errors(await tcpRequest(topo.pod('client-pod').ns, c.fwIP, 80, { timeoutMs: 1_500 })),
        node: errors(await tcpRequest(topo.node('node-1').ns, c.fwIP, 80, { timeoutMs: 1_500 })),
      });
      await send({ op: 'sync', services: [fw([c.otherRange])], endpoints, full: true });
      expect(await probe()).toEqual({ outside: ['ETIMEDOUT'], pod: ['ETIMEDOUT'], node: ['ok:pod-a'] });
      const only = c.family === 'IPv4' ? `${clientIP()}/32` : `${clientIP()}/128`;
      await send({ op: 'sync', services: [fw([c.otherRange, only])], endpoints, full: false });
      expect(await probe()).toEqual({ outside: ['ok:pod-a'], pod: ['ETIMEDOUT'], node: ['ok:pod-a'] });
      // Without ranges every source is served.
      await send({ op: 'sync', services: [fw([])], endpoints, full: false });
      expect([...tally(await tcpRequest(topo.pod('client-pod').ns, c.fwIP, 80)).keys()]).toEqual(['pod-a']);
    });
  });
});
