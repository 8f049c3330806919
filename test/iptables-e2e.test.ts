// End to end, real packets through real rules: the iptables proxier runs inside node-1 of a
// namespace topology (test/support/topology.ts) and the pods, the other node and an external
// client make real TCP/UDP requests. Once per back-end (legacy, nft).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ep, svcPort } from '../src/backends/common/testing/fixtures.ts';
import type { Endpoint, ServicePort } from '../src/model/types.ts';
import type { XtablesBackend } from '../src/system/iptables.ts';
import { startProxier, type ProxierDriver, type WireState } from './support/iptables-proxier-client.ts';
import { execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, tally, tcpRequest, udpRequest, type Topology } from './support/topology.ts';

const NODE = 'node-1';
const options = {
  masqueradeMark: '0x00004000',
  localDetector: { ifLocal: '-s 10.244.0.0/16', ifNotLocal: '! -s 10.244.0.0/16' },
  nodeIPs: ['192.0.2.11'],
  localhostNodePorts: false,
};

for (const backend of ['legacy', 'nft'] as const satisfies readonly XtablesBackend[]) {
  describeWith(`iptables mode end to end (${backend})`, ['root', 'iptables', 'conntrack'], () => {
    let topo: Topology;
    let proxier: ProxierDriver;
    let services: Map<string, [ServicePort, Endpoint[]]>;

    const podEp = (pod: string, port = 80, over: Partial<Endpoint> = {}): Endpoint => {
      const p = topo.pod(pod);
      const isLocal = p.node === NODE;
      return ep(p.ip, port, { isLocal, nodeName: p.node, ...over });
    };
    const state = (changed: readonly string[] = [], extra: Partial<WireState> = {}): WireState => ({
      node: { name: NODE, labels: {}, zone: '', podCIDRs: ['10.244.1.0/24'], eligible: true },
      services: [...services.values()].map(([s]) => s),
      endpoints: [...services.values()].map(([s, e]) => [s.name, e] as const),
      changedServices: changed,
      changedEndpoints: changed,
      ...extra,
    });
    const sync = async (changed: readonly string[] = [], extra: Partial<WireState> = {}) => {
      const r = await proxier.sync(state(changed, extra));
      expect(r, proxier.output()).toMatchObject({ ok: true });
      return r;
    };
    const set = (s: ServicePort, eps: Endpoint[]) => services.set(s.name, [s, eps]);
    const pod1a = () => topo.pod('pod-1a');

    beforeAll(async () => {
      topo = await buildTopology({
        nodes: [
          { name: NODE, pods: [{ name: 'pod-1a' }, { name: 'pod-1b' }] },
          { name: 'node-2', pods: [{ name: 'pod-2a' }] },
        ],
      });
      services = new Map();
      set(svcPort('e2e', 'web', 'http', { clusterIP: '10.96.0.10', nodePort: 30080 }), [podEp('pod-1b'), podEp('pod-2a')]);
      set(svcPort('e2e', 'local', 'http', { clusterIP: '10.96.0.11', nodePort: 30081, externalPolicyLocal: true }), [
        podEp('pod-1b'),
        podEp('pod-2a'),
      ]);
      set(svcPort('e2e', 'sticky', 'http', { clusterIP: '10.96.0.12', sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } }), [
        podEp('pod-1b'),
        podEp('pod-2a'),
      ]);
      set(svcPort('e2e', 'empty', 'http', { clusterIP: '10.96.0.13' }), []);
      set(svcPort('e2e', 'self', 'http', { clusterIP: '10.96.0.14' }), [podEp('pod-1b')]);
      set(svcPort('e2e', 'dns', 'dns', { clusterIP: '10.96.0.53', port: 53, protocol: 'UDP' }), [podEp('pod-1b', 53), podEp('pod-2a', 53)]);
      set(
        svcPort('e2e', 'lb', 'http', {
          clusterIP: '10.96.0.15',
          loadBalancerVIPs: ['198.51.100.10'],
          loadBalancerSourceRanges: ['192.0.2.100/32'],
        }),
        [podEp('pod-2a')],
      );
      proxier = await startProxier(topo.node(NODE).ns, backend, options);
      const first = await sync();
      expect(first.kind).toBe('full');
    });
    afterAll(async () => {
      await proxier?.stop();
      await topo?.teardown();
    });

    it('spreads ClusterIP traffic over the endpoints and keeps pod sources', async () => {
      const replies = await tcpRequest(pod1a().ns, '10.96.0.10', 80, { count: 40 });
      const t = tally(replies);
      expect([...t.keys()].sort()).toEqual(['pod-1b', 'pod-2a']);
      expect(new Set(replies.map((r) => (r.ok ? r.source : r.error)))).toEqual(new Set([pod1a().ip]));
    });

    it('masquerades NodePort traffic from outside with Cluster policy', async () => {
      const replies = await tcpRequest(topo.client.ns, topo.node(NODE).ip, 30080, { count: 20 });
      expect(replies.every((r) => r.ok)).toBe(true);
      expect(replies.some((r) => r.ok && r.source === topo.client.ip)).toBe(false);
    });

    it('keeps the client address with externalTrafficPolicy Local and uses local endpoints only', async () => {
      const replies = await tcpRequest(topo.client.ns, topo.node(NODE).ip, 30081, { count: 10 });
      expect(replies).toEqual(Array(10).fill({ ok: true, pod: 'pod-1b', source: topo.client.ip }));
    });

    it('keeps a client on one endpoint with ClientIP affinity', async () => {
      const t = tally(await tcpRequest(pod1a().ns, '10.96.0.12', 80, { count: 20 }));
      expect(t.size).toBe(1);
      expect([...t.values()]).toEqual([20]);
    });

    it('rejects a service without endpoints at once, over TCP', async () => {
      expect(await tcpRequest(pod1a().ns, '10.96.0.13', 80, { timeoutMs: 10_000 })).toEqual([{ ok: false, error: 'ECONNREFUSED' }]);
    });

    it('hairpins a pod reaching itself through its service, masqueraded', async () => {
      const me = topo.pod('pod-1b');
      const [r] = await tcpRequest(me.ns, '10.96.0.14', 80);
      expect(r).toMatchObject({ ok: true, pod: 'pod-1b' });
      expect(r?.ok && r.source).not.toBe(me.ip);
    });

    it('answers UDP through the ClusterIP', async () => {
      const t = tally(await udpRequest(pod1a().ns, '10.96.0.53', 53, { count: 30 }));
      expect([...t.keys()].sort()).toEqual(['pod-1b', 'pod-2a']);
    });

    it('lets allowed source ranges reach a load-balancer IP and drops the others', async () => {
      expect(await tcpRequest(topo.client.ns, '198.51.100.10', 80)).toEqual([{ ok: true, pod: 'pod-2a', source: '192.0.2.11' }]);
      const lb = services.get('e2e/lb:http');
      if (!lb) throw new Error('fixture missing');
      set({ ...lb[0], loadBalancerSourceRanges: ['203.0.113.0/24'] }, lb[1]);
      expect((await sync(['e2e/lb:http'])).kind).toBe('partial');
      expect(await tcpRequest(topo.client.ns, '198.51.100.10', 80, { timeoutMs: 1500 })).toEqual([{ ok: false, error: 'ETIMEDOUT' }]);
    });

    it('applies endpoint and service removal in partial syncs', async () => {
      const web = services.get('e2e/web:http');
      if (!web) throw new Error('fixture missing');
      set(web[0], [podEp('pod-1b')]);
      expect((await sync(['e2e/web:http'], { removedEndpoints: [['e2e/web:http', [podEp('pod-2a')]]] })).kind).toBe('partial');
      expect(tally(await tcpRequest(pod1a().ns, '10.96.0.10', 80, { count: 20 }))).toEqual(new Map([['pod-1b', 20]]));
      services.delete('e2e/web:http');
      await sync(['e2e/web:http']);
      expect(await tcpRequest(pod1a().ns, '10.96.0.10', 80, { timeoutMs: 1500 })).toEqual([{ ok: false, error: 'ETIMEDOUT' }]);
      const nat = (await execIn(topo.node(NODE).ns, `iptables-${backend}-save`, ['-t', 'nat'])).stdout;
      expect(nat).not.toContain('10.96.0.10');
    });

    it('repairs flushed tables with a full sync (canary)', async () => {
      const ns = topo.node(NODE).ns;
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-F']);
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-X']);
      await execIn(ns, `iptables-${backend}`, ['-t', 'mangle', '-X']);
      expect(await tcpRequest(pod1a().ns, '10.96.0.14', 80, { timeoutMs: 1500 })).toEqual([{ ok: false, error: 'ETIMEDOUT' }]);
      expect((await sync()).kind).toBe('full');
      expect(await tcpRequest(pod1a().ns, '10.96.0.14', 80)).toMatchObject([{ ok: true, pod: 'pod-1b' }]);
    });

    it('reports a failed restore with its line and makes the next sync full', async () => {
      const ns = topo.node(NODE).ns;
      // A foreign rule holding a reference to a service chain makes its deletion fail.
      const nat = (await execIn(ns, `iptables-${backend}-save`, ['-t', 'nat'])).stdout;
      const svcChain = /-A KUBE-SERVICES .*10\.96\.0\.14\/32.* -j (KUBE-SVC-\w+)/.exec(nat)?.[1];
      expect(svcChain).toBeDefined();
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-N', 'FOREIGN']);
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-A', 'FOREIGN', '-j', svcChain ?? '']);
      const self = services.get('e2e/self:http');
      services.delete('e2e/self:http');
      const failed = await proxier.sync(state(['e2e/self:http']));
      expect(failed).toMatchObject({ ok: false, needFull: true });
      expect(failed.error).toMatch(/line \d+/);
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-F', 'FOREIGN']);
      if (self) set(...self);
      expect((await sync(['e2e/self:http'])).kind).toBe('full');
    });

    it('restarts without failing a single request', async () => {
      const loop = tcpRequest(pod1a().ns, '10.96.0.12', 80, { count: 150, timeoutMs: 5000 });
      await proxier.stop();
      proxier = await startProxier(topo.node(NODE).ns, backend, options);
      expect((await sync()).kind).toBe('full');
      const replies = await loop;
      expect(replies.filter((r) => !r.ok)).toEqual([]);
    });

    it('cleans up everything of ours and leaves foreign rules alone', async () => {
      const ns = topo.node(NODE).ns;
      await execIn(ns, `iptables-${backend}`, ['-A', 'INPUT', '-s', '198.51.100.7', '-j', 'DROP']);
      expect(await proxier.cleanup()).toMatchObject({ ok: true });
      const all = (await execIn(ns, `iptables-${backend}-save`, [])).stdout;
      // KUBE-FIREWALL is kubelet's chain; upstream's clean-up leaves it too.
      const ours = all.split('\n').filter((l) => l.includes('KUBE-') && !l.includes('KUBE-FIREWALL'));
      expect(ours).toEqual([]);
      expect(all).toContain('-A INPUT -s 198.51.100.7/32 -j DROP');
      expect(all).toContain(':FOREIGN');
      expect(await tcpRequest(pod1a().ns, '10.96.0.12', 80, { timeoutMs: 1500 })).toEqual([{ ok: false, error: 'ETIMEDOUT' }]);
    });
  });
}
