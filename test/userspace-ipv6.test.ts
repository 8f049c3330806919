// The userspace mode on IPv6, in namespaces (upstream v1.25 userspace supported IPv6 single-stack:
// ip6tables portals, listeners on ::). A dual-stack node runs one Proxier per family side by side,
// as the daemon does: each family's portals, listeners and NodePort claims must not disturb the
// other's. Underlay 2001:db8:0:2::/64, pods fd00:10:244:i::/64, services fd00:10:96::/112.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { endpoint, servicePort } from '../src/model/testing/fixtures.ts';
import type { Endpoint, IPFamily, ServicePort } from '../src/model/types.ts';
import type { NsProcess } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { runnerSender, USERSPACE_RUNNER } from './support/userspace-runner-client.ts';
import { buildTopology, execIn, spawnIn, tally, tcpRequest, udpRequest, type Topology } from './support/topology.ts';

const RUNNER = USERSPACE_RUNNER;

function svc(family: IPFamily, name: string, over: Partial<ServicePort> & { clusterIP: string }): ServicePort {
  return servicePort('default', name.split(':')[0] ?? name, { name: `default/${name}`, family, ...over });
}

/** Try to bind ip:port (IPv6-only for ::) inside `ns` from a fresh process: 'bound' or the error code. */
async function bindIn(ns: string, proto: 'tcp' | 'udp', ip: string, port: number): Promise<string> {
  const v6 = ip.includes(':');
  const script =
    proto === 'tcp'
      ? `const s=require('node:net').createServer();s.on('error',e=>{console.log(e.code);process.exit(0)});s.listen({host:'${ip}',port:${port},ipv6Only:${v6}},()=>{console.log('bound');s.close()})`
      : `const s=require('node:dgram').createSocket({type:'${v6 ? 'udp6' : 'udp4'}',ipv6Only:${v6}});s.on('error',e=>{console.log(e.code);process.exit(0)});s.bind(${port},'${ip}',()=>{console.log('bound');s.close()})`;
  return (await execIn(ns, process.execPath, ['-e', script])).stdout.trim();
}

interface Runner {
  readonly p: NsProcess;
  readonly send: (cmd: object) => Promise<string>;
}

const send = (r: Runner, cmd: object): Promise<string> => r.send(cmd);
const runner = (p: NsProcess): Runner => ({ p, send: runnerSender(p) });

describeWith('userspace mode on IPv6 (dual-stack node) in namespaces', ['root', 'iptables'], () => {
  let topo: Topology;
  let v4: Runner;
  let v6: Runner;
  const web6 = svc('IPv6', 'web:http', { clusterIP: 'fd00:10:96::10', nodePort: 30080 });
  const dns6 = svc('IPv6', 'dns:dns', { clusterIP: 'fd00:10:96::53', protocol: 'UDP', port: 53, nodePort: 30053 });
  const web4 = svc('IPv4', 'web:http', { clusterIP: '10.96.0.10', nodePort: 30080 });
  let eps6: Record<string, Endpoint[]>;

  const ip6 = (pod: string): string => topo.pod(pod).ip6 ?? '';
  const ep = (ip: string, port: number, node: string): Endpoint => endpoint(ip, port, { nodeName: node, isLocal: node === 'node-1' });

  beforeAll(async () => {
    topo = await buildTopology({
      ipv6: true,
      nodes: [
        { name: 'node-1', pods: [{ name: 'pod-a' }, { name: 'client-pod', tcpPorts: [], udpPorts: [] }] },
        { name: 'node-2', pods: [{ name: 'pod-b' }] },
      ],
    });
    const n1 = topo.node('node-1');
    eps6 = {
      'default/web:http': [ep(ip6('pod-a'), 80, 'node-1'), ep(ip6('pod-b'), 80, 'node-2')],
      'default/dns:dns': [ep(ip6('pod-a'), 53, 'node-1'), ep(ip6('pod-b'), 53, 'node-2')],
    };
    v4 = runner(spawnIn(n1.ns, process.execPath, [RUNNER, n1.ip, 'IPv4'], { stdin: true }));
    v6 = runner(spawnIn(n1.ns, process.execPath, [RUNNER, n1.ip6 ?? '', 'IPv6'], { stdin: true }));
    await v4.p.waitForLine((l) => l === 'ready');
    await v6.p.waitForLine((l) => l === 'ready');
    await send(v4, { op: 'sync', services: [web4], endpoints: { 'default/web:http': [ep(topo.pod('pod-b').ip, 80, 'node-2')] } });
    await send(v6, { op: 'sync', services: [web6, dns6], endpoints: eps6 });
  });

  afterAll(async () => {
    await v4?.p.stop();
    await v6?.p.stop();
    await topo?.teardown();
  });

  it('relays IPv6 ClusterIP TCP from a pod to endpoints on both nodes', async () => {
    const t = tally(await tcpRequest(topo.pod('client-pod').ns, 'fd00:10:96::10', 80, { count: 8 }));
    expect([...t.entries()].sort()).toEqual([
      ['pod-a', 4],
      ['pod-b', 4],
    ]);
  });

  it('answers IPv6 UDP from the service address (the client socket is connected to it)', async () => {
    const replies = await udpRequest(topo.pod('client-pod').ns, 'fd00:10:96::53', 53, { count: 4 });
    expect(replies.every((r) => r.ok)).toBe(true);
    const ext = await udpRequest(topo.client.ns, topo.node('node-1').ip6 ?? '', 30053, { count: 2 });
    expect(ext.every((r) => r.ok)).toBe(true);
  });

  it('serves the IPv6 NodePort to the outside and the ClusterIP to the node itself', async () => {
    const ext = await tcpRequest(topo.client.ns, topo.node('node-1').ip6 ?? '', 30080, { count: 4 });
    expect(ext.every((r) => r.ok)).toBe(true);
    const host = await tcpRequest(topo.node('node-1').ns, 'fd00:10:96::10', 80, { count: 4 });
    expect(host.every((r) => r.ok)).toBe(true);
  });

  it('keeps the IPv4 side working beside it, each family claiming its own NodePort', async () => {
    const t = tally(await tcpRequest(topo.client.ns, topo.node('node-1').ip, 30080, { count: 3 }));
    expect([...t.entries()]).toEqual([['pod-b', 3]]);
    const ns = topo.node('node-1').ns;
    expect(await bindIn(ns, 'tcp', '::', 30080)).toBe('EADDRINUSE');
    expect(await bindIn(ns, 'tcp', '0.0.0.0', 30080)).toBe('EADDRINUSE');
    expect(await bindIn(ns, 'udp', '::', 30053)).toBe('EADDRINUSE');
    // The IPv4 Proxier has no UDP NodePort: the IPv6 claim leaves the IPv4 side free.
    expect(await bindIn(ns, 'udp', '0.0.0.0', 30053)).toBe('bound');
  });

  it('writes the portals with ip6tables (/128) and cleans them up', async () => {
    const ns = topo.node('node-1').ns;
    const saved = (await execIn(ns, 'ip6tables-save', [])).stdout;
    expect(saved).toContain('-d fd00:10:96::10/128');
    expect(saved).toMatch(/-A KUBE-NODEPORT-HOST .*--dport 30080 -j DNAT --to-destination \[2001:db8:0:2::11\]:\d+/);
    await send(v6, { op: 'sync', services: [], endpoints: {} });
    expect(await bindIn(ns, 'tcp', '::', 30080)).toBe('bound');
    await send(v6, { op: 'cleanup' });
    expect((await execIn(ns, 'ip6tables-save', [])).stdout).not.toMatch(/KUBE-(PORTALS|NODEPORT)/);
    // The IPv4 portals are another table set: untouched.
    expect((await execIn(ns, 'iptables-save', [])).stdout).toContain('-A KUBE-PORTALS-CONTAINER');
  });
});
