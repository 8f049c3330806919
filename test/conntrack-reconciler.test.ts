// The UDP conntrack reconciler end to end (issue 13; upstream CleanStaleEntries since v1.32): the
// real iptables proxier in a node namespace, real conntrack, a long-lived UDP client (one source
// port) whose flow keeps its DNAT while it keeps sending. A proxier restarted while an endpoint
// went away has no "previous" state to diff, so only comparing the kernel's flows with the
// programmed services finds the stale flow; a service going from N endpoints to 0 loses its flows
// too (kubernetes#139628), and flows that are still right are left alone.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ep, svcPort } from '../src/backends/iptables/testing/fixtures.ts';
import type { Endpoint } from '../src/model/types.ts';
import { startProxier, type ProxierDriver, type WireState } from './support/iptables-proxier-client.ts';
import { execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, type Topology } from './support/topology.ts';
import { openUdpFlow, type UdpFlow } from './support/udp-flow.ts';

const NODE = 'node-1';

describeWith('UDP conntrack reconciler (iptables proxier, real conntrack)', ['root', 'iptables', 'conntrack'], () => {
  let topo: Topology;
  let proxier: ProxierDriver | undefined;
  const flows: UdpFlow[] = [];
  const dns = svcPort('e2e', 'dns', 'dns', { clusterIP: '10.96.0.53', port: 53, protocol: 'UDP', nodePort: 30053 });
  const podEp = (pod: string): Endpoint => ep(topo.pod(pod).ip, 53, { isLocal: topo.pod(pod).node === NODE, nodeName: topo.pod(pod).node });
  const state = (eps: Endpoint[], extra: Partial<WireState> = {}): WireState => ({
    node: { name: NODE, labels: {}, zone: '', podCIDRs: ['10.244.1.0/24'], eligible: true },
    services: [dns],
    endpoints: [[dns.name, eps]],
    changedServices: [dns.name],
    changedEndpoints: [dns.name],
    ...extra,
  });
  const sync = async (s: WireState): Promise<void> => {
    const r = await proxier?.sync(s);
    expect(r, proxier?.output()).toMatchObject({ ok: true });
  };
  const flowsTo = async (ip: string): Promise<string> =>
    (await execIn(topo.node(NODE).ns, 'conntrack', ['-L', '-p', 'udp', '--orig-dst', ip])).stdout;
  const open = async (host: string, port: number, src: number): Promise<UdpFlow> => {
    const f = await openUdpFlow(topo.pod('client').ns, host, port, src);
    flows.push(f);
    return f;
  };

  beforeAll(async () => {
    topo = await buildTopology({
      nodes: [
        { name: NODE, pods: [{ name: 'client', tcpPorts: [], udpPorts: [] }, { name: 'pod-a' }] },
        { name: 'node-2', pods: [{ name: 'pod-b' }] },
      ],
    });
    proxier = await startProxier(topo.node(NODE).ns, 'nft', {});
  });
  afterAll(async () => {
    for (const f of flows) await f.stop();
    await proxier?.stop();
    await topo?.teardown();
  });

  it('after a restart, deletes the flow to an endpoint removed while the proxier was down', async () => {
    await sync(state([podEp('pod-a')], { full: true }));
    const flow = await open('10.96.0.53', 53, 40001);
    expect(await flow.send(3)).toEqual(['pod-a', 'pod-a', 'pod-a']);
    // The proxier stops (rules stay); pod-a is replaced by pod-b meanwhile, so the new proxier's
    // first sync knows nothing of pod-a. pod-a still answers: only a deleted flow moves the client.
    await proxier?.stop();
    proxier = await startProxier(topo.node(NODE).ns, 'nft', {});
    await sync(state([podEp('pod-b')], { full: true }));
    expect(await flowsTo('10.96.0.53')).not.toContain(`src=${topo.pod('pod-a').ip} `);
    expect(await flow.send(3)).toEqual(['pod-b', 'pod-b', 'pod-b']);
  });

  it('keeps the flows that are still right: a second flow is not disturbed by a sync', async () => {
    const other = await open('10.96.0.53', 53, 40002);
    expect(await other.send(1)).toEqual(['pod-b']);
    const before = await flowsTo('10.96.0.53');
    expect(before).toContain('sport=40002');
    await sync(state([podEp('pod-b')]));
    expect(await flowsTo('10.96.0.53')).toContain('sport=40002');
  });

  it('N endpoints to 0: the flows go, and the client is refused instead of talking to the old endpoint', async () => {
    const flow = await open(topo.node(NODE).ip, 30053, 40003);
    expect(await flow.send(1)).toEqual(['pod-b']);
    await sync(state([], { removedEndpoints: [[dns.name, [podEp('pod-b')]]] }));
    expect(await flowsTo('10.96.0.53')).not.toContain(`src=${topo.pod('pod-b').ip} `);
    const after = await flow.send(1);
    expect(after).not.toContain('pod-b');
  });
});
