// Random change sequences prove a partial sync (the kept per-port plan, patched) leaves the kernel
// as a full sync from scratch would: the same virtual and real servers, kube-ipvs0 addresses, ipset
// contents and iptables rules. The universe is small on purpose, so ports collide: shared cluster
// and external IPs, one virtual server claimed by two ports, a NodePort number on two protocols,
// an external IP that is a node address, LB source ranges that do or do not cover the node.
import { describe, expect, it } from 'vitest';
import type { Endpoint, ProxyState, ServicePort, ServicePortName } from '../../model/types.ts';
import { recordingLogger } from '../../sync/testing/recorders.ts';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { IpvsProxier } from './proxier.ts';
import { MemoryApplier } from './testing/memory-applier.ts';

const NODE_ADDRESSES = ['192.0.2.1', '198.51.100.7'];

/** mulberry32: small, seeded, good enough to pick test cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function universe(r: () => number) {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const some = <T,>(xs: readonly T[], p: number): T[] => xs.filter(() => r() < p);
  const names = Array.from({ length: 10 }, (_, i) => `ns${i % 3}/svc-${i}`);
  const service = (name: string): ServicePort => {
    const [ns = '', svc = ''] = name.split('/');
    const ipv6 = r() < 0.1;
    const lb = some(['203.0.113.1', '203.0.113.2'], 0.2);
    return svcPort(ns, svc, '', {
      family: ipv6 ? 'IPv6' : 'IPv4',
      clusterIP: ipv6 ? 'fd00::10' : r() < 0.1 ? '' : pick(['10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.0.4']),
      port: pick([80, 443]),
      protocol: pick(['TCP', 'TCP', 'UDP', 'SCTP'] as const),
      nodePort: r() < 0.4 ? pick([30001, 30002]) : 0,
      externalIPs: ipv6 ? [] : some(['192.0.2.50', '198.51.100.7'], 0.25),
      loadBalancerVIPs: ipv6 ? [] : lb,
      loadBalancerSourceRanges: lb.length > 0 && r() < 0.5 ? [pick(['192.0.2.0/24', '203.0.113.128/25'])] : [],
      sessionAffinity: r() < 0.2 ? { type: 'ClientIP', timeoutSeconds: pick([60, 10800]) } : { type: 'None', timeoutSeconds: 0 },
      externalPolicyLocal: r() < 0.3,
      internalPolicyLocal: r() < 0.1,
      healthCheckNodePort: r() < 0.2 ? pick([32000, 32001]) : 0,
    });
  };
  const endpoints = (): Endpoint[] =>
    some(['10.244.0.1', '10.244.0.2', '10.244.1.1', '10.244.1.2', '10.244.2.1'], 0.5).map((ip) =>
      ep(ip, pick([8080, 9090]), { isLocal: ip.startsWith('10.244.0.'), ready: r() < 0.85, serving: r() < 0.9, terminating: r() < 0.15 }),
    );
  return { pick, names, service, endpoints };
}

const proxier = (applier: MemoryApplier): IpvsProxier =>
  new IpvsProxier({
    family: 'IPv4', applier, logger: recordingLogger(), scheduler: 'rr', excludeCIDRs: [], nodePortAddresses: [], now: () => 0,
    rulesOptions: () => ({ family: 'IPv4', masqueradeMark: '0x00004000', masqueradeAll: false, localDetector: null, randomFully: true }),
  });

/** What a full sync from scratch leaves in an empty kernel for `state`. */
async function fromScratch(state: ProxyState): Promise<{ kernel: ReturnType<MemoryApplier['snapshot']>; rules: string | undefined }> {
  const fresh = new MemoryApplier('IPv4', NODE_ADDRESSES);
  await proxier(fresh).sync({ ...state, full: true });
  return { kernel: fresh.snapshot(), rules: fresh.rules };
}

describe('ipvs partial syncs vs a full sync from scratch', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: 30 random partial changes`, async () => {
      const r = rng(seed);
      const u = universe(r);
      const services = new Map<ServicePortName, ServicePort>();
      const eps = new Map<ServicePortName, Endpoint[]>();
      for (const n of u.names) {
        if (r() >= 0.6) continue;
        services.set(n, u.service(n));
        eps.set(n, u.endpoints());
      }
      const stateOf = (over: Partial<ProxyState>): ProxyState => makeState('IPv4', [...services].map(([n, s]) => [s, eps.get(n) ?? []] as const), over);
      const applier = new MemoryApplier('IPv4', NODE_ADDRESSES);
      const p = proxier(applier);
      await p.sync(stateOf({ full: true }));
      let partials = 0;
      for (let step = 0; step < 30; step++) {
        const changedServices = new Set<ServicePortName>();
        const changedEndpoints = new Set<ServicePortName>();
        const removedServices = new Map<ServicePortName, ServicePort>();
        for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) {
          const name = u.pick(u.names);
          const roll = r();
          const had = services.get(name);
          if (roll < 0.4) {
            eps.set(name, u.endpoints());
            changedEndpoints.add(name);
          } else if (roll < 0.8 || had === undefined) {
            services.set(name, u.service(name));
            changedServices.add(name);
            removedServices.delete(name);
          } else {
            services.delete(name);
            eps.delete(name);
            changedServices.add(name);
            changedEndpoints.add(name);
            removedServices.set(name, had);
          }
        }
        const state = stateOf({ full: false, changedServices, changedEndpoints, removedServices });
        await p.sync(state);
        expect(p.lastSync?.full).toBe(false);
        partials++;
        const want = await fromScratch(state);
        expect(applier.snapshot(), `seed ${seed} step ${step}`).toEqual(want.kernel);
        expect(applier.rules, `seed ${seed} step ${step}: rules`).toBe(want.rules);
      }
      // And the kept model agrees with the kernel: a full sync now has nothing to change in IPVS.
      const before = applier.stats.ipvsChanges;
      await p.sync(stateOf({ full: true }));
      expect(applier.stats.ipvsChanges - before).toBe(0);
      expect(p.lastSync?.addressChanges).toBe(0);
      expect(partials).toBe(30);
    });
  }
});
