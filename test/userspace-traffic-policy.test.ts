// externalTrafficPolicy: Local in the userspace mode, in namespaces. Upstream v1.25 userspace
// ignored the policy; ours keeps its promise to operators (plan.ts hasExternalListener): traffic
// from outside the node to a NodePort goes only to this node's endpoints, and is closed when there
// is none, while ClusterIP traffic, the node itself and its pods still use every endpoint.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { endpoint, servicePort } from '../src/model/testing/fixtures.ts';
import type { Endpoint, ServicePort } from '../src/model/types.ts';
import type { NsProcess } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { runnerSender, USERSPACE_RUNNER } from './support/userspace-runner-client.ts';
import { buildTopology, execIn, spawnIn, tally, tcpRequest, type Topology } from './support/topology.ts';

const RUNNER = USERSPACE_RUNNER;

function svc(name: string, over: Partial<ServicePort> & { clusterIP: string }): ServicePort {
  return servicePort('default', name, { name: `default/${name}:http`, portName: 'http', externalPolicyLocal: true, ...over });
}

describeWith('userspace mode, externalTrafficPolicy: Local, in namespaces', ['root', 'iptables'], () => {
  let topo: Topology;
  let proxy: NsProcess;
  let send: (cmd: object) => Promise<string>;
  /** br_netfilter in node-1: pods' bridged traffic is seen by the physdev match. */
  let bridgeNf = '';


  const mixed = svc('mixed', { clusterIP: '10.96.0.20', nodePort: 30081 });
  const remote = svc('remote', { clusterIP: '10.96.0.21', nodePort: 30082 });
  const node1 = (): string => topo.node('node-1').ip;
  /** TCP sockets listening in node-1: the runner is the only process there. */
  const tcpListeners = async (): Promise<number> =>
    (await execIn(topo.node('node-1').ns, 'ss', ['-H', '-ltn'])).stdout.split('\n').filter((l) => l.trim() !== '').length;

  beforeAll(async () => {
    topo = await buildTopology({
      nodes: [
        { name: 'node-1', pods: [{ name: 'pod-a' }, { name: 'client-pod', tcpPorts: [], udpPorts: [] }] },
        { name: 'node-2', pods: [{ name: 'pod-b' }] },
      ],
    });
    const ep = (pod: string): Endpoint => {
      const p = topo.pod(pod);
      return endpoint(p.ip, 80, { nodeName: p.node, isLocal: p.node === 'node-1' });
    };
    bridgeNf = (await execIn(topo.node('node-1').ns, 'cat', ['/proc/sys/net/bridge/bridge-nf-call-iptables'])).stdout.trim();
    proxy = spawnIn(topo.node('node-1').ns, process.execPath, [RUNNER, node1()], { stdin: true });
    send = runnerSender(proxy);
    await proxy.waitForLine((l) => l === 'ready');
    await send({ op: 'sync', services: [mixed, remote], endpoints: { [mixed.name]: [ep('pod-a'), ep('pod-b')], [remote.name]: [ep('pod-b')] } });
  });

  afterAll(async () => {
    await proxy?.stop();
    await topo?.teardown();
  });

  it('sends NodePort traffic from outside only to the local endpoint', async () => {
    const t = tally(await tcpRequest(topo.client.ns, node1(), 30081, { count: 6 }));
    expect([...t.entries()]).toEqual([['pod-a', 6]]);
  });

  it('closes NodePort connections from outside when the node has no endpoint of the service', async () => {
    const replies = await tcpRequest(topo.client.ns, node1(), 30082, { count: 3, timeoutMs: 5_000 });
    expect(replies.filter((r) => r.ok)).toEqual([]);
  });

  it('still balances ClusterIP traffic over every endpoint', async () => {
    const t = tally(await tcpRequest(topo.pod('client-pod').ns, '10.96.0.20', 80, { count: 8 }));
    expect([...t.keys()].sort()).toEqual(['pod-a', 'pod-b']);
    expect(tally(await tcpRequest(topo.pod('client-pod').ns, '10.96.0.21', 80, { count: 2 })).get('pod-b')).toBe(2);
  });

  it('treats the node itself and its pods as internal: the NodePort answers them from every endpoint', async () => {
    const host = tally(await tcpRequest(topo.node('node-1').ns, node1(), 30082, { count: 2 }));
    expect([...host.entries()]).toEqual([['pod-b', 2]]);
    expect(bridgeNf, 'br_netfilter must be active in the node namespace for pods to be told apart').toBe('1');
    const pod = tally(await tcpRequest(topo.pod('client-pod').ns, node1(), 30082, { count: 2 }));
    expect([...pod.entries()]).toEqual([['pod-b', 2]]);
  });

  it('closes the external listener when the policy goes back to Cluster, and outside traffic reaches every endpoint', async () => {
    const ep = (pod: string): Endpoint => endpoint(topo.pod(pod).ip, 80, { nodeName: topo.pod(pod).node, isLocal: topo.pod(pod).node === 'node-1' });
    // Two listeners per service port (main, external) and the two NodePort claims.
    expect(await tcpListeners()).toBe(6);
    await send({
      op: 'sync',
      services: [mixed, { ...remote, externalPolicyLocal: false }],
      endpoints: { [mixed.name]: [ep('pod-a'), ep('pod-b')], [remote.name]: [ep('pod-b')] },
      full: false,
    });
    const t = tally(await tcpRequest(topo.client.ns, node1(), 30082, { count: 2 }));
    expect([...t.entries()]).toEqual([['pod-b', 2]]);
    const saved = (await execIn(topo.node('node-1').ns, 'iptables-save', ['-t', 'nat'])).stdout;
    expect(saved.match(/physdev --physdev-is-in/g)).toHaveLength(1); // only `mixed` keeps its split
    expect(await tcpListeners()).toBe(5);
  });
});
