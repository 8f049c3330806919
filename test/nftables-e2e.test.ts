// The nftables mode end to end: the real daemon (--proxy-mode nftables, --manifests) inside
// node-a of the dual-stack namespace topology of the iptables IPv6 test (test/support/
// dual-stack-daemon.ts, same manifests), real IPv6 and IPv4 packets from pods, the node itself
// and an external client through the `ip6 kube-proxy` / `ip kube-proxy` tables it programs.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { httpGetIn, metricValue, pollUntil, runDaemonOnce } from './support/daemon.ts';
import { DEADLINE_MS, NODE, dualStackDaemon, v6, writeAtomically } from './support/dual-stack-daemon.ts';
import { endpointSliceYaml, lbServiceYaml, SVC } from './support/ipv6-manifests.ts';
import { execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { tally, tcpRequest, udpRequest } from './support/topology.ts';

const nftList = async (ns: string, ...args: string[]): Promise<string> => (await execIn(ns, 'nft', ['list', ...args])).stdout;

describeWith('nftables mode end to end (real daemon, IPv6 and IPv4)', ['root', 'iptables', 'conntrack'], () => {
  const { ctx, topo, flags, nodeNs, client } = dualStackDaemon('nft', { proxyMode: 'nftables' });
  const ip6of = (pod: string): string => v6(topo().pod(pod));

  describe('layout', () => {
    it('writes upstream’s table in ip and ip6, and no iptables rules', async () => {
      for (const fam of ['ip', 'ip6']) {
        const t = await nftList(nodeNs(), 'table', fam, 'kube-proxy');
        for (const name of ['chain filter-prerouting-pre-dnat', 'chain nat-postrouting', 'map service-ips', 'map no-endpoint-services', 'set hairpin-connections', 'set cluster-ips', 'chain reject-chain']) {
          expect(t, `${fam}: ${name}`).toContain(name);
        }
        expect(t).toContain('type nat hook prerouting priority dstnat; policy accept;');
      }
      expect(await nftList(nodeNs(), 'table', 'ip', 'kube-proxy')).not.toContain('fd00:');
      const saved = (await execIn(nodeNs(), 'iptables-nft-save', [])).stdout + (await execIn(nodeNs(), 'ip6tables-nft-save', [])).stdout;
      expect(saved).not.toContain('KUBE-SERVICES');
    });
  });

  it('spreads IPv6 ClusterIP traffic over endpoints on both nodes and keeps the pod source', async () => {
    const replies = await tcpRequest(client().ns, SVC.web, 80, { count: 40 });
    expect([...tally(replies).keys()].sort()).toEqual(['web-a1', 'web-a2', 'web-b1']);
    expect(new Set(replies.map((r) => (r.ok ? r.source : r.error)))).toEqual(new Set([ip6of('client-a')]));
  });

  it('serves the ClusterIP from the node itself (nat-output)', async () => {
    const t = tally(await tcpRequest(nodeNs(), SVC.web, 80, { count: 20 }));
    expect([...t.keys()].filter((k) => !k.startsWith('web-'))).toEqual([]);
    expect(t.size).toBeGreaterThan(1);
  });

  it('masquerades an IPv6 NodePort request from the external client (Cluster policy)', async () => {
    const replies = await tcpRequest(topo().client.ns, v6(topo().node(NODE)), 30080, { count: 30 });
    expect(replies.filter((r) => !r.ok)).toEqual([]);
    expect(tally(replies).size).toBeGreaterThan(1);
    expect(replies.some((r) => r.ok && r.source === v6(topo().client))).toBe(false);
  });

  it('keeps the client address with externalTrafficPolicy Local, local endpoints only, and its health check answers', async () => {
    const replies = await tcpRequest(topo().client.ns, v6(topo().node(NODE)), 30081, { count: 10 });
    expect(replies).toEqual(Array(10).fill({ ok: true, pod: 'web-a1', source: v6(topo().client) }));
    expect(await tcpRequest(topo().client.ns, SVC.localVIP, 80, { count: 5 })).toEqual(Array(5).fill({ ok: true, pod: 'web-a1', source: v6(topo().client) }));
    const inside = tally(await tcpRequest(client().ns, SVC.local, 80, { count: 30 }));
    expect([...inside.keys()].sort()).toEqual(['web-a1', 'web-b1']);
    const hc = await httpGetIn(topo().client.ns, `http://[${v6(topo().node(NODE))}]:32081/`);
    expect(hc).toMatchObject({ status: 200 });
  });

  it('drops external traffic for Local policy without local endpoints (no-endpoint-services drop)', async () => {
    expect(await tcpRequest(topo().client.ns, v6(topo().node(NODE)), 30086, { timeoutMs: 1_500 })).toEqual([{ ok: false, error: 'ETIMEDOUT' }]);
    expect(await tcpRequest(topo().client.ns, SVC.remoteOnlyVIP, 80, { timeoutMs: 1_500 })).toEqual([{ ok: false, error: 'ETIMEDOUT' }]);
    expect(await tcpRequest(client().ns, SVC.remoteOnly, 80)).toEqual([{ ok: true, pod: 'web-b1', source: ip6of('client-a') }]);
  });

  it('keeps pod traffic on local endpoints with internalTrafficPolicy Local', async () => {
    expect(tally(await tcpRequest(client().ns, SVC.itpLocal, 80, { count: 20 }))).toEqual(new Map([['web-a2', 20]]));
  });

  it('rejects a Service without endpoints (reject-chain), over TCP and UDP and through its NodePort', async () => {
    expect(await tcpRequest(client().ns, SVC.empty, 80, { timeoutMs: 10_000 })).toEqual([{ ok: false, error: 'ECONNREFUSED' }]);
    expect(await udpRequest(client().ns, SVC.empty, 53, { timeoutMs: 10_000 })).toEqual([{ ok: false, error: 'ECONNREFUSED' }]);
    expect(await tcpRequest(topo().client.ns, v6(topo().node(NODE)), 30083, { timeoutMs: 10_000 })).toEqual([{ ok: false, error: 'ECONNREFUSED' }]);
  });

  it('rejects a port the ClusterIP does not serve (cluster-ips-check)', async () => {
    expect(await tcpRequest(client().ns, SVC.web, 81, { timeoutMs: 10_000 })).toEqual([{ ok: false, error: 'ECONNREFUSED' }]);
  });

  it('answers a dual-stack Service on both families, and its NodePort on the node’s primary addresses only', async () => {
    const r4 = await tcpRequest(client().ns, SVC.dual4, 80, { count: 20 });
    const r6 = await tcpRequest(client().ns, SVC.dual6, 80, { count: 20 });
    expect([...tally(r4).keys()].sort()).toEqual(['web-a2', 'web-b2']);
    expect([...tally(r6).keys()].sort()).toEqual(['web-a2', 'web-b2']);
    expect(new Set(r4.map((r) => r.ok && r.source))).toEqual(new Set([client().ip]));
    const np4 = await tcpRequest(topo().client.ns, topo().node(NODE).ip, 30082, { count: 5 });
    const np6 = await tcpRequest(topo().client.ns, v6(topo().node(NODE)), 30082, { count: 5 });
    expect([...np4, ...np6].filter((r) => !r.ok)).toEqual([]);
    // nodePortAddresses defaults to primary in nftables mode: never on 127.0.0.1 (upstream #124383).
    expect(await tcpRequest(nodeNs(), '127.0.0.1', 30082, { timeoutMs: 3_000 })).toMatchObject([{ ok: false }]);
  });

  it('answers UDP through an IPv6 ClusterIP from endpoints on both nodes', async () => {
    const replies = await udpRequest(client().ns, SVC.dns, 53, { count: 30 });
    expect([...tally(replies).keys()].sort()).toEqual(['web-a1', 'web-b1']);
  });

  it('keeps a client on one endpoint with ClientIP affinity (affinity- sets, endpoint- chains)', async () => {
    const t = tally(await tcpRequest(client().ns, SVC.sticky, 80, { count: 20 }));
    expect([...t.values()]).toEqual([20]);
    expect(await nftList(nodeNs(), 'table', 'ip6', 'kube-proxy')).toMatch(/set affinity-[A-Z2-7]{8}-v6\/sticky\//);
  });

  it('hairpins a pod reaching itself through its Service, masqueraded (hairpin-connections)', async () => {
    const [r] = await tcpRequest(topo().pod('web-a1').ns, SVC.self, 80);
    expect(r).toMatchObject({ ok: true, pod: 'web-a1' });
    expect(r?.ok && r.source).not.toBe(ip6of('web-a1'));
  });

  it('lets allowed source ranges reach a load-balancer IP and drops the others (firewall-ips)', async () => {
    expect(await tcpRequest(topo().client.ns, SVC.lbVIP, 80)).toMatchObject([{ ok: true, pod: 'web-b1' }]);
    writeAtomically(ctx.dir, 'lb-svc.yaml', lbServiceYaml(['2001:db8:0:99::/64']));
    await pollUntil('client dropped by the load-balancer firewall', DEADLINE_MS, async () => {
      const [r] = await tcpRequest(topo().client.ns, SVC.lbVIP, 80, { timeoutMs: 1_500 });
      return r?.ok === false && r.error === 'ETIMEDOUT' ? r : undefined;
    });
    expect(await tcpRequest(client().ns, SVC.lb, 80)).toMatchObject([{ ok: true, pod: 'web-b1' }]);
  });

  it('follows an endpoint change with a partial sync and deletes the stale UDP flows', async () => {
    const metrics = async (): Promise<string> => {
      const m = await httpGetIn(nodeNs(), 'http://127.0.0.1:10249/metrics');
      return 'body' in m ? m.body : '';
    };
    const partialBefore = metricValue(await metrics(), 'kubeproxy_sync_partial_proxy_rules_duration_seconds_count') ?? 0;
    expect(await udpRequest(client().ns, SVC.udpMove, 53)).toMatchObject([{ ok: true, pod: 'web-b1' }]);
    const flows = async (): Promise<string> =>
      (await execIn(nodeNs(), 'conntrack', ['-L', '-f', 'ipv6', '-p', 'udp', '--orig-dst', SVC.udpMove])).stdout;
    writeAtomically(ctx.dir, 'udp-move.yaml', endpointSliceYaml('udp-move', 'IPv6', [[ip6of('web-b2'), 'node-b']], { name: 'dns', port: 5353, protocol: 'UDP' }));
    await pollUntil('udp-move served by web-b2', DEADLINE_MS, async () => {
      const [r] = await udpRequest(client().ns, SVC.udpMove, 53, { timeoutMs: 1_000 });
      return r?.ok && r.pod === 'web-b2' ? r : undefined;
    });
    await pollUntil('flows to web-b1 deleted', DEADLINE_MS, async () => ((await flows()).includes(ip6of('web-b1')) ? undefined : true));
    expect(metricValue(await metrics(), 'kubeproxy_sync_partial_proxy_rules_duration_seconds_count') ?? 0).toBeGreaterThan(partialBefore);
    expect(metricValue(await metrics(), 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total')).toBe(0);
  });

  it('drops traffic to an unallocated ClusterIP once a ServiceCIDR covers it, and stops when it goes (upstream cluster-ips-check)', async () => {
    // nft lists a one-element anonymous set without its braces.
    const rule = /ip6 daddr (\{ )?fd00:10:96::\/112( \})? drop/;
    const dump = async (): Promise<string> => nftList(nodeNs(), 'table', 'ip6', 'kube-proxy');
    expect(await dump()).not.toMatch(rule);
    writeAtomically(ctx.dir, 'service-cidr.yaml', [
      'apiVersion: networking.k8s.io/v1', 'kind: ServiceCIDR', 'metadata:', '  name: kubernetes',
      'spec:', '  cidrs: ["10.96.0.0/16", "fd00:10:96::/112"]', '',
    ].join('\n'));
    await pollUntil('ServiceCIDR drop rule in ip6 kube-proxy', DEADLINE_MS, async () => (rule.test(await dump()) ? true : undefined)).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await dump()}\n${ctx.daemon?.output() ?? ''}`);
    });
    expect(await nftList(nodeNs(), 'table', 'ip', 'kube-proxy')).toMatch(/ip daddr (\{ )?10\.96\.0\.0\/16( \})? drop/);
    // No Service holds fd00:10:96::99: silently dropped; an allocated ClusterIP still answers.
    expect(await tcpRequest(client().ns, 'fd00:10:96::99', 80, { timeoutMs: 1_500 })).toEqual([{ ok: false, error: 'ETIMEDOUT' }]);
    expect(await tcpRequest(client().ns, SVC.web, 80)).toMatchObject([{ ok: true }]);
    rmSync(join(ctx.dir, 'service-cidr.yaml'));
    await pollUntil('ServiceCIDR drop rule gone', DEADLINE_MS, async () => (rule.test(await dump()) ? undefined : true));
  });

  it('--cleanup deletes both families’ kube-proxy tables and nothing foreign', async () => {
    await ctx.daemon?.stop();
    // A foreign table named like ours in another family, and another table in ip.
    await execIn(nodeNs(), 'nft', ['-f', '-'], 'add table inet kube-proxy\nadd table ip other\n');
    const r = await runDaemonOnce(nodeNs(), [...flags(), '--cleanup']);
    expect(r.code, r.output).toBe(0);
    const tables = (await execIn(nodeNs(), 'nft', ['list', 'tables'])).stdout;
    expect(tables).not.toMatch(/table ip6? kube-proxy\n/);
    expect(tables).toContain('table inet kube-proxy');
    expect(tables).toContain('table ip other');
  });
});
