// IpvsProxier against an in-memory kernel: what a full, a restart and a partial sync send, the
// graceful deletion of a real server with connections, a failed step making the next sync full,
// ownership of a contested virtual server passing on, shared addresses staying bound, exclusions.
import { describe, expect, it } from 'vitest';
import type { Endpoint, ProxyState, ServicePort } from '../../model/types.ts';
import { describeOp } from '../../system/ipvs-client.ts';
import { RecordingMetrics, recordingLogger } from '../../sync/testing/recorders.ts';
import { ep, makeState, svcPort } from '../common/testing/fixtures.ts';
import { IpvsProxier } from './proxier.ts';
import { MemoryApplier } from './testing/memory-applier.ts';

const NODE = '192.0.2.1';

function setup(o: { excludeCIDRs?: string[] } = {}) {
  const applier = new MemoryApplier('IPv4', [NODE]);
  const logger = recordingLogger();
  const metrics = new RecordingMetrics();
  const make = (): IpvsProxier =>
    new IpvsProxier({
      family: 'IPv4', applier, logger, metrics, scheduler: 'rr', excludeCIDRs: o.excludeCIDRs ?? [], nodePortAddresses: [], now: () => 0,
      rulesOptions: () => ({ family: 'IPv4', masqueradeMark: '0x00004000', masqueradeAll: false, localDetector: null, randomFully: true }),
    });
  // Records the IPVS ops each sync sends.
  const sent: string[] = [];
  const apply = applier.applyIpvs.bind(applier);
  applier.applyIpvs = async (ops) => {
    sent.push(...ops.map(describeOp));
    return apply(ops);
  };
  return { applier, logger, metrics, make, sent };
}

const a = svcPort('ns', 'a', '', { clusterIP: '10.96.0.10' });
const b = svcPort('ns', 'b', '', { clusterIP: '10.96.0.11', nodePort: 30080 });
const eps = (...ips: string[]): Endpoint[] => ips.map((ip) => ep(ip, 8080));
const partial = (entries: [ServicePort, Endpoint[]][], over: Partial<ProxyState>): ProxyState => makeState('IPv4', entries, { full: false, ...over });

describe('IpvsProxier', () => {
  it('a first sync programs everything; a restart sends no IPVS change; one endpoint change sends only its ops', async () => {
    const { applier, make, sent } = setup();
    const world: [ServicePort, Endpoint[]][] = [[a, eps('10.244.0.1', '10.244.0.2')], [b, eps('10.244.1.1')]];
    const p = make();
    expect((await p.sync(makeState('IPv4', world))).kind).toBe('full');
    expect([...applier.snapshot().ipvs.keys()]).toEqual(['10.96.0.10:80/TCP', '10.96.0.11:80/TCP', '192.0.2.1:30080/TCP']);
    expect(applier.snapshot().bound).toEqual(['10.96.0.10', '10.96.0.11']);
    expect(applier.snapshot().ipsets.get('KUBE-NODE-PORT-TCP')).toEqual(['30080']);
    expect(applier.jumpChecks).toBeGreaterThan(0);
    expect(applier.rulesWrites).toBe(1);

    sent.length = 0;
    const restarted = make();
    await restarted.sync(makeState('IPv4', world));
    expect(sent).toEqual([]);

    const dumps = applier.stats.ipvsDumps;
    const writes = applier.rulesWrites;
    const scripts = applier.ipsetScripts.length;
    world[0] = [a, eps('10.244.0.1', '10.244.0.3')];
    const r = await restarted.sync(partial(world, { changedEndpoints: new Set([a.name]) }));
    expect(r.kind).toBe('partial');
    expect(sent).toEqual(['ipvs: add destination 10.244.0.3:8080 to 10.96.0.10:80/TCP', 'ipvs: delete destination 10.244.0.2:8080 of 10.96.0.10:80/TCP']);
    // One dump: the changed virtual server's real servers (for their connection counts).
    expect(applier.stats.ipvsDumps - dumps).toBe(1);
    expect(applier.rulesWrites).toBe(writes);
    expect(applier.ipsetScripts.length).toBe(scripts);
  });

  it('a removed TCP real server with connections drains at weight 0 and goes once they end', async () => {
    const { applier, make, sent } = setup();
    const p = make();
    await p.sync(makeState('IPv4', [[a, eps('10.244.0.1', '10.244.0.2')]]));
    applier.setConns('10.96.0.10:80/TCP', '10.244.0.2:8080', 3);
    sent.length = 0;
    await p.sync(partial([[a, eps('10.244.0.1')]], { changedEndpoints: new Set([a.name]) }));
    expect(sent).toEqual(['ipvs: update destination 10.244.0.2:8080 of 10.96.0.10:80/TCP']);
    expect(applier.vs.get('10.96.0.10:80/TCP')?.dests.get('10.244.0.2:8080')?.weight).toBe(0);
    expect(p.pendingDeletions.size).toBe(1);
    expect(await p.recheckPending()).toBe(0);
    applier.setConns('10.96.0.10:80/TCP', '10.244.0.2:8080', 0);
    expect(await p.recheckPending()).toBe(1);
    expect(applier.vs.get('10.96.0.10:80/TCP')?.dests.has('10.244.0.2:8080')).toBe(false);
  });

  it('a failed IPVS change fails the sync, and the next sync is full and repairs it', async () => {
    const { applier, make } = setup();
    const p = make();
    await p.sync(makeState('IPv4', [[a, eps('10.244.0.1')]]));
    applier.failOp = (op) => op.op === 'addService';
    await expect(p.sync(partial([[a, eps('10.244.0.1')], [b, eps('10.244.1.1')]], { changedServices: new Set([b.name]) }))).rejects.toThrow(/step\(s\) failed, next sync is full/);
    expect(applier.vs.has('10.96.0.11:80/TCP')).toBe(false);
    applier.failOp = () => false;
    // Nothing flagged as changed: only a full sync can find the missing virtual servers.
    await p.sync(partial([[a, eps('10.244.0.1')], [b, eps('10.244.1.1')]], {}));
    expect(p.lastSync?.full).toBe(true);
    expect(applier.vs.get('10.96.0.11:80/TCP')?.dests.has('10.244.1.1:8080')).toBe(true);
  });

  it('a failed ipset restore fails the sync, and the next sync rebuilds every set', async () => {
    const { applier, make } = setup();
    const p = make();
    await p.sync(makeState('IPv4', [[a, eps('10.244.0.1')]]));
    applier.failIpset = true;
    await expect(p.sync(partial([[a, eps('10.244.0.1')], [b, []]], { changedServices: new Set([b.name]) }))).rejects.toThrow(/ipset restore/);
    applier.failIpset = false;
    await p.sync(partial([[a, eps('10.244.0.1')], [b, []]], {}));
    expect(applier.snapshot().ipsets.get('KUBE-CLUSTER-IP')).toEqual(['10.96.0.10,tcp:80', '10.96.0.11,tcp:80']);
  });

  it('when the owner of a contested virtual server goes, the other claimant takes it over in a partial sync', async () => {
    const { applier, make, logger } = setup();
    const x = svcPort('ns', 'x', '', { clusterIP: '10.96.0.20' });
    const y = svcPort('ns', 'y', '', { clusterIP: '10.96.0.20' });
    const p = make();
    await p.sync(makeState('IPv4', [[x, eps('10.244.0.1')], [y, eps('10.244.0.9')]]));
    expect([...(applier.vs.get('10.96.0.20:80/TCP')?.dests.keys() ?? [])]).toEqual(['10.244.0.1:8080']);
    expect(logger.entries.some((e) => e.msg === 'two service ports claim one virtual server' && e.fields.ignored === 'ns/y')).toBe(true);
    await p.sync(partial([[y, eps('10.244.0.9')]], { changedServices: new Set([x.name]), removedServices: new Map([[x.name, x]]) }));
    expect([...(applier.vs.get('10.96.0.20:80/TCP')?.dests.keys() ?? [])]).toEqual(['10.244.0.9:8080']);
    // Still y's address: it stays bound.
    expect(applier.snapshot().bound).toEqual(['10.96.0.20']);
  });

  it('an address two services share stays bound until neither has it; excluded ones are never unbound', async () => {
    const { applier, make } = setup({ excludeCIDRs: ['192.0.2.64/26'] });
    const e1 = svcPort('ns', 'e1', '', { clusterIP: '10.96.0.30', externalIPs: ['192.0.2.50'] });
    const e2 = svcPort('ns', 'e2', '', { clusterIP: '10.96.0.31', port: 443, externalIPs: ['192.0.2.50', '192.0.2.70'] });
    const p = make();
    await p.sync(makeState('IPv4', [[e1, []], [e2, []]]));
    expect(applier.snapshot().bound).toEqual(['10.96.0.30', '10.96.0.31', '192.0.2.50', '192.0.2.70']);
    await p.sync(partial([[e2, []]], { changedServices: new Set([e1.name]) }));
    expect(applier.snapshot().bound).toEqual(['10.96.0.31', '192.0.2.50', '192.0.2.70']);
    expect(applier.snapshot().ipsets.get('KUBE-IPVS-IPS')).toEqual(['10.96.0.31', '192.0.2.50', '192.0.2.70']);
    await p.sync(partial([], { changedServices: new Set([e2.name]) }));
    // 192.0.2.70 is inside --ipvs-exclude-cidrs: left alone, address and virtual server.
    expect(applier.snapshot().bound).toEqual(['192.0.2.70']);
    expect([...applier.snapshot().ipvs.keys()]).toEqual(['192.0.2.70:443/TCP']);
  });

  it('the rules are rewritten by a partial sync only when a set becomes empty or non-empty', async () => {
    const { applier, make } = setup();
    const p = make();
    await p.sync(makeState('IPv4', [[a, []]]));
    expect(applier.rules).not.toContain('KUBE-NODE-PORT-TCP');
    await p.sync(partial([[a, []], [b, []]], { changedServices: new Set([b.name]) }));
    expect(p.lastSync?.rulesWritten).toBe(true);
    expect(applier.rules).toContain('--match-set KUBE-NODE-PORT-TCP dst');
    const c = svcPort('ns', 'c', '', { clusterIP: '10.96.0.12', nodePort: 30081 });
    await p.sync(partial([[a, []], [b, []], [c, []]], { changedServices: new Set([c.name]) }));
    expect(p.lastSync?.rulesWritten).toBe(false);
    // Three entries added (cluster IP, NodePort, bound address), nothing else.
    expect(p.lastSync?.ipsetLines).toBe(3);
  });

  it('a failed iptables-restore counts as upstream\'s restore failure, a partial one as a partial failure too', async () => {
    const { applier, metrics, make } = setup();
    const p = make();
    applier.failRules = true;
    await expect(p.sync(makeState('IPv4', [[a, []]]))).rejects.toThrow(/iptables-restore/);
    expect([metrics.restoreFailures, metrics.partialRestoreFailures]).toEqual([1, 0]);
    applier.failRules = false;
    await p.sync(makeState('IPv4', [[a, []]]));
    // A NodePort set becoming non-empty rewrites the rules in a partial sync.
    applier.failRules = true;
    await expect(p.sync(partial([[a, []], [b, []]], { changedServices: new Set([b.name]) }))).rejects.toThrow(/iptables-restore/);
    expect([metrics.restoreFailures, metrics.partialRestoreFailures]).toEqual([2, 1]);
  });
});
