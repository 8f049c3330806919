// The proxier's sync decisions with the dry-run applier (which is also what --dry-run uses); the
// kernel side is covered end to end in test/iptables-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../model/logger.ts';
import { createDryRunApplier, type RulesApplier } from '../common/iptables-rules-applier.ts';
import { kubeletJumps, requiredJumps } from './jumps.ts';
import { IptablesProxier } from './proxier.ts';
import { renderRules, type RenderMemo } from './render.ts';
import { ep, makeState, svcPort, upstreamOptions } from './testing/fixtures.ts';

const silent: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, fatal: () => {}, child: () => silent };
const web = svcPort('ns1', 'web', 'http', { clusterIP: '10.96.0.10' });

function make(applier: RulesApplier): IptablesProxier<RenderMemo> {
  return new IptablesProxier<RenderMemo>({
    family: 'IPv4',
    applier,
    render: renderRules,
    jumps: () => [...requiredJumps(), ...kubeletJumps()],
    renderOptions: () => upstreamOptions(),
    logger: silent,
  });
}

describe('IptablesProxier', () => {
  it('syncs fully first, then partially, and fully when asked', async () => {
    const out: string[] = [];
    const applier = createDryRunApplier('IPv4', (t) => out.push(t));
    const p = make(applier);
    const s1 = makeState('IPv4', [[web, [ep('10.244.1.10', 80)]]], { full: false });
    expect((await p.sync(s1)).kind).toBe('full');
    expect(applier.jumps).toHaveLength(requiredJumps().length + kubeletJumps().length);
    const s2 = makeState('IPv4', [[web, [ep('10.244.1.11', 80)]]], { full: false, changedEndpoints: new Set([web.name]) });
    const r2 = await p.sync(s2);
    expect(r2.kind).toBe('partial');
    expect(r2.counts?.['nat-rules']).toBeGreaterThan(0);
    expect(applier.payloads[1]).toContain('--to-destination 10.244.1.11:80');
    expect(applier.payloads[1]).toContain('-X KUBE-SEP-');
    expect((await p.sync({ ...s2, full: true })).kind).toBe('full');
    expect(out.join('')).toContain('# IPv4 iptables-restore --noflush --counters');
  });

  it('after a failed restore reports the error, counts it and syncs fully next time', async () => {
    const base = createDryRunApplier('IPv4', () => {});
    let fail = false;
    const applier: RulesApplier = { ...base, restore: async (t) => (fail ? Promise.reject(new Error('boom')) : base.restore(t)) };
    const p = make(applier);
    const s = makeState('IPv4', [[web, [ep('10.244.1.10', 80)]]], { full: false });
    await p.sync(s);
    fail = true;
    await expect(p.sync(s)).rejects.toThrow('boom');
    expect(p.restoreFailures).toBe(1);
    expect(p.needFullSync).toBe(true);
    fail = false;
    expect((await p.sync(s)).kind).toBe('full');
  });

  it('a restore that fails part-way through the streamed payload keeps the last memo and syncs fully next', async () => {
    const base = createDryRunApplier('IPv4', () => {});
    let failAfter = Number.POSITIVE_INFINITY;
    const applier: RulesApplier = {
      ...base,
      restore: async (p) => {
        // Take chunks as iptables-restore would, and die after `failAfter` of them.
        let taken = 0;
        for (const _ of typeof p === 'string' ? [p] : p) if (++taken > failAfter) throw new Error('restore died mid-stream');
        return base.restore(p);
      },
    };
    const p = make(applier);
    const s1 = makeState('IPv4', [[web, [ep('10.244.1.10', 80)]]], { full: false });
    await p.sync(s1);
    failAfter = 1; // the filter table went through, the nat table did not
    const s2 = makeState('IPv4', [[web, [ep('10.244.1.11', 80)]]], { full: false, changedEndpoints: new Set([web.name]) });
    await expect(p.sync(s2)).rejects.toThrow('mid-stream');
    expect(p.needFullSync).toBe(true);
    failAfter = Number.POSITIVE_INFINITY;
    expect((await p.sync(s2)).kind).toBe('full');
    // The full sync after the failure deletes the chain of the endpoint that went away, known
    // from the memo of the last applied render (not of the failed one).
    expect(base.payloads.at(-1)).toContain('-X KUBE-SEP-');
    expect(base.payloads.at(-1)).toContain('--to-destination 10.244.1.11:80');
  });

  it('syncs fully when the canary chain disappeared', async () => {
    const base = createDryRunApplier('IPv4', () => {});
    let present = true;
    const applier: RulesApplier = { ...base, canaryPresent: async () => present };
    const p = make(applier);
    const s = makeState('IPv4', [[web, []]], { full: false });
    await p.sync(s);
    expect((await p.sync(s)).kind).toBe('partial');
    present = false;
    expect((await p.sync(s)).kind).toBe('full');
  });

  it('reads the nat table back only when the kernel may differ from the last applied render', async () => {
    const base = createDryRunApplier('IPv4', () => {});
    let reads = 0;
    let fail = false;
    const applier: RulesApplier = {
      ...base,
      natChains: async () => {
        reads += 1;
        return [];
      },
      restore: async (t) => (fail ? Promise.reject(new Error('boom')) : base.restore(t)),
    };
    const p = make(applier);
    const s = makeState('IPv4', [[web, [ep('10.244.1.10', 80)]]], { full: false });
    await p.sync(s); // first sync after start: no memo yet
    expect(reads).toBe(1);
    await p.sync({ ...s, full: true }); // periodic full resync: the memo knows our chains
    expect(reads).toBe(1);
    fail = true;
    await expect(p.sync(s)).rejects.toThrow('boom'); // a partial sync: no read
    expect(reads).toBe(1);
    fail = false;
    await p.sync(s); // after a failed restore the kernel is read again
    expect(reads).toBe(2);
  });

  it('spaces a slow drift check by its own cost (0.3 % of a core), and checks a quick one at every canary check', async () => {
    let now = 0;
    let saves = 0;
    let saveCostMs = 0;
    const base = createDryRunApplier('IPv4', () => {});
    // iptables-save of what was written: the dry-run payload itself is an equal listing.
    const applier: RulesApplier = {
      ...base,
      canaryPresent: async () => true,
      save: async (table) => {
        saves += 1;
        now += saveCostMs;
        return base.payloads.filter((x) => x.includes(`*${table}`)).join('');
      },
    };
    const p = new IptablesProxier<RenderMemo>({
      family: 'IPv4', applier, render: renderRules, jumps: () => [...requiredJumps(), ...kubeletJumps()],
      renderOptions: () => upstreamOptions(), logger: silent, now: () => now, canaryIntervalMs: 1_000,
    });
    const s = makeState('IPv4', [[web, [ep('10.244.1.10', 80)]]], { full: false });
    await p.sync(s);
    const checks = async (steps: number): Promise<number> => {
      const before = saves;
      for (let i = 0; i < steps; i++) {
        now += 1_000;
        await p.sync(s);
      }
      return saves - before;
    };
    expect(await checks(5)).toBeGreaterThanOrEqual(5);
    // Each check now costs 1 s (a 10k-Service table): the next waits ~333 s, not one canary interval.
    saveCostMs = 500;
    const first = await checks(1);
    expect(first).toBeGreaterThan(0);
    expect(await checks(300)).toBe(0);
    expect(await checks(60)).toBeGreaterThan(0);
  });
});
