// The userspace mode end to end, in namespaces: the Proxier runs inside node-1, its portal rules
// REDIRECT/DNAT service addresses to its listeners, and it relays to pods on both nodes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { endpoint, servicePort } from '../src/model/testing/fixtures.ts';
import type { Endpoint, ServicePort } from '../src/model/types.ts';
import { type NsProcess } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { runnerSender, USERSPACE_RUNNER } from './support/userspace-runner-client.ts';
import { buildTopology, ECHO_SERVER, execIn, spawnIn, tally, tcpRequest, udpRequest, type Topology } from './support/topology.ts';

const RUNNER = USERSPACE_RUNNER;

function svc(over: Partial<ServicePort> & { name: string; clusterIP: string }): ServicePort {
  return servicePort('default', over.name.split('/')[1]?.split(':')[0] ?? 'svc', over);
}

function ep(ip: string, port: number, nodeName: string): Endpoint {
  return endpoint(ip, port, { nodeName, isLocal: nodeName === 'node-1' });
}

/** Try to bind (and for TCP listen on) ip:port inside `ns` from a fresh process: 'bound' or the error code. */
async function bindIn(ns: string, proto: 'tcp' | 'udp', ip: string, port: number): Promise<string> {
  const script =
    proto === 'tcp'
      ? `const s=require('node:net').createServer();s.on('error',e=>{console.log(e.code);process.exit(0)});s.listen({host:'${ip}',port:${port}},()=>{console.log('bound');s.close()})`
      : `const s=require('node:dgram').createSocket('udp4');s.on('error',e=>{console.log(e.code);process.exit(0)});s.bind(${port},'${ip}',()=>{console.log('bound');s.close()})`;
  return (await execIn(ns, process.execPath, ['-e', script])).stdout.trim();
}

describeWith('userspace portals in namespaces', ['root', 'iptables'], () => {
  let topo: Topology;
  let proxy: NsProcess;
  let send: (cmd: object) => Promise<string>;


  const web = svc({ name: 'default/web', clusterIP: '10.96.0.10', nodePort: 30080 });
  const dns = svc({ name: 'default/dns', clusterIP: '10.96.0.53', protocol: 'UDP', port: 53, nodePort: 30053 });
  let endpoints: Record<string, Endpoint[]>;

  beforeAll(async () => {
    topo = await buildTopology({
      nodes: [
        { name: 'node-1', pods: [{ name: 'pod-a' }, { name: 'client-pod', tcpPorts: [], udpPorts: [] }] },
        { name: 'node-2', pods: [{ name: 'pod-b' }] },
      ],
    });
    const a = topo.pod('pod-a');
    const b = topo.pod('pod-b');
    endpoints = {
      // A refusing port on a live pod and an address nobody answers for: both must cost no request.
      'default/web': [ep(a.ip, 80, 'node-1'), ep(b.ip, 80, 'node-2'), ep(a.ip, 81, 'node-1'), ep('10.244.2.99', 80, 'node-2')],
      'default/dns': [ep(a.ip, 53, 'node-1'), ep(b.ip, 53, 'node-2')],
    };
    proxy = spawnIn(topo.node('node-1').ns, process.execPath, [RUNNER, topo.node('node-1').ip], { stdin: true });
    send = runnerSender(proxy);
    await proxy.waitForLine((l) => l === 'ready');
    await send({ op: 'sync', services: [web, dns], endpoints, full: true });
  });

  afterAll(async () => {
    await proxy?.stop();
    await topo?.teardown();
  });

  it('sends ClusterIP traffic from a pod through the relay to endpoints on both nodes, retrying dead ones', async () => {
    const replies = await tcpRequest(topo.pod('client-pod').ns, '10.96.0.10', 80, { count: 24 });
    const t = tally(replies);
    expect([...t.keys()].sort()).toEqual(['pod-a', 'pod-b']);
    expect((t.get('pod-a') ?? 0) + (t.get('pod-b') ?? 0)).toBe(24);
    // The daemon made the upstream connections: pods see node-1's addresses, never the client pod.
    const sources = new Set(replies.map((r) => (r.ok ? r.source : r.error)));
    expect([...sources].sort()).toEqual(['10.244.1.1', topo.node('node-1').ip].sort());
  });

  it('relays UDP ClusterIP traffic and the reply reaches the pod', async () => {
    const replies = await udpRequest(topo.pod('client-pod').ns, '10.96.0.53', 53, { count: 4 });
    expect(replies.every((r) => r.ok)).toBe(true);
  });

  it('serves a NodePort to the external client and ClusterIP traffic from the node itself', async () => {
    const ext = await tcpRequest(topo.client.ns, topo.node('node-1').ip, 30080, { count: 4 });
    expect(ext.every((r) => r.ok)).toBe(true);
    const host = await tcpRequest(topo.node('node-1').ns, '10.96.0.10', 80, { count: 4 });
    expect(host.every((r) => r.ok)).toBe(true);
  });

  it('stops using a removed endpoint at the next sync', async () => {
    await send({ op: 'sync', services: [web, dns], endpoints: { ...endpoints, 'default/web': [ep(topo.pod('pod-b').ip, 80, 'node-2')] }, full: false });
    const t = tally(await tcpRequest(topo.pod('client-pod').ns, '10.96.0.10', 80, { count: 6 }));
    expect([...t.entries()]).toEqual([['pod-b', 6]]);
  });

  it('claims the NodePorts: nothing else on the node can bind them while the service exists', async () => {
    const ns = topo.node('node-1').ns;
    expect(await bindIn(ns, 'tcp', '0.0.0.0', 30080)).toBe('EADDRINUSE');
    expect(await bindIn(ns, 'tcp', topo.node('node-1').ip, 30080)).toBe('EADDRINUSE');
    expect(await bindIn(ns, 'udp', '0.0.0.0', 30053)).toBe('EADDRINUSE');
    // The claim is per protocol, as upstream's portMapKey.
    expect(await bindIn(ns, 'udp', '0.0.0.0', 30080)).toBe('bound');
    // The claim holds the port only: NodePort traffic still reaches the pods through the relay.
    expect((await tcpRequest(topo.client.ns, topo.node('node-1').ip, 30080, { count: 2 })).every((r) => r.ok)).toBe(true);
  });

  it('leaves a NodePort another program holds to it: no portal rule, the program keeps its traffic', async () => {
    const ns = topo.node('node-1').ns;
    // A program of the node's own already serving TCP 30090: its replies name it "squatter".
    const squatter = spawnIn(ns, process.execPath, [ECHO_SERVER, 'squatter', '30090', '']);
    await squatter.waitForLine((l) => l === 'ready');
    try {
      const taken = svc({ name: 'default/taken', clusterIP: '10.96.0.90', nodePort: 30090 });
      await send({ op: 'sync', services: [web, dns, taken], endpoints: { ...endpoints, 'default/taken': endpoints['default/web'] }, full: false });
      const nat = (await execIn(ns, 'iptables-save', ['-t', 'nat'])).stdout;
      expect(nat).toContain('-d 10.96.0.90/32'); // the ClusterIP portal is there
      expect(nat).not.toContain('--dport 30090');
      const t = tally(await tcpRequest(topo.client.ns, topo.node('node-1').ip, 30090, { count: 2 }));
      expect([...t.entries()]).toEqual([['squatter', 2]]);
    } finally {
      await squatter.stop();
    }
    // The next sync that writes rules claims the port once it is free.
    const withTaken = { ...endpoints, 'default/taken': endpoints['default/web'] ?? [] };
    await send({ op: 'sync', services: [web, dns, svc({ name: 'default/taken', clusterIP: '10.96.0.90', nodePort: 30090 })], endpoints: withTaken, full: true });
    expect((await execIn(ns, 'iptables-save', ['-t', 'nat'])).stdout).toContain('--dport 30090');
    expect(await bindIn(ns, 'tcp', '0.0.0.0', 30090)).toBe('EADDRINUSE');
    await send({ op: 'sync', services: [web, dns], endpoints, full: true });
  });

  it('cleanup removes the chains and jumps; a removed service refuses and frees its NodePort', async () => {
    const before = (await execIn(topo.node('node-1').ns, 'iptables-save', [])).stdout;
    expect(before).toContain('-A KUBE-PORTALS-CONTAINER');
    expect(before.match(/-j KUBE-PORTALS-CONTAINER/g)).toHaveLength(1);
    await send({ op: 'sync', services: [dns], endpoints, full: true });
    const afterRemoval = (await execIn(topo.node('node-1').ns, 'iptables-save', [])).stdout;
    expect(afterRemoval).not.toContain('default/web');
    expect(afterRemoval.match(/-j KUBE-PORTALS-CONTAINER/g)).toHaveLength(1);
    expect(await bindIn(topo.node('node-1').ns, 'tcp', '0.0.0.0', 30080)).toBe('bound');
    expect(await bindIn(topo.node('node-1').ns, 'udp', '0.0.0.0', 30053)).toBe('EADDRINUSE');
    await send({ op: 'cleanup' });
    const after = (await execIn(topo.node('node-1').ns, 'iptables-save', [])).stdout;
    expect(after).not.toMatch(/KUBE-(PORTALS|NODEPORT)/);
  });
});
