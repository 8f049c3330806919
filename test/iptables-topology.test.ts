// The namespace topology itself (test/support/topology.ts), before any rules: pods answer across
// nodes with their own name and see the true source; teardown leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NS_PREFIX, liveNamespaces } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tcpRequest, udpRequest, type Topology } from './support/topology.ts';

describeWith('namespace topology', ['root'], () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await buildTopology({
      nodes: [
        { name: 'node-a', pods: [{ name: 'pod-a1' }, { name: 'pod-a2' }] },
        { name: 'node-b', pods: [{ name: 'pod-b1' }] },
      ],
    });
  });
  afterAll(async () => {
    await topo?.teardown();
  });

  it('pods reach pods on the other node over TCP and UDP, unmasqueraded', async () => {
    const b1 = topo.pod('pod-b1');
    const a1 = topo.pod('pod-a1');
    expect(await tcpRequest(a1.ns, b1.ip, 80)).toEqual([{ ok: true, pod: 'pod-b1', source: a1.ip }]);
    expect(await udpRequest(a1.ns, b1.ip, 53)).toEqual([{ ok: true, pod: 'pod-b1', source: a1.ip }]);
  });

  it('pods on one bridge reach each other', async () => {
    const a2 = topo.pod('pod-a2');
    expect(await tcpRequest(topo.pod('pod-a1').ns, a2.ip, 80)).toEqual([
      { ok: true, pod: 'pod-a2', source: topo.pod('pod-a1').ip },
    ]);
  });

  it('the external client reaches nodes, and a closed port refuses', async () => {
    const node = topo.node('node-b');
    const replies = await tcpRequest(topo.client.ns, node.ip, 9, { timeoutMs: 2000 });
    expect(replies).toEqual([{ ok: false, error: 'ECONNREFUSED' }]);
  });

  it('teardown removes every namespace it created', async () => {
    expect(liveNamespaces().length).toBe(1 + 1 + 2 + 3);
    await topo.teardown();
    expect(liveNamespaces()).toEqual([]);
    const listed = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(listed).not.toContain(NS_PREFIX);
  });
});
