// The nftables proxier against the real kernel in a namespace of this test: the kernel is listed
// only at start and after a failure (never on a partial sync), a `nft flush ruleset` behind our
// back is repaired at the next sync, a refused transaction is logged with its failing line and
// command, counted, and followed by a full sync that succeeds, a restart on a populated table
// replaces it whole, and a table of an older layout (other base-chain priorities) is replaced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overallState } from '../src/backends/iptables/testing/upstream-cases.ts';
import { NftablesProxier, type NftRunner } from '../src/backends/nftables/proxier.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import type { ProxyState } from '../src/model/types.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { createNft, type Nft } from '../src/system/nft.ts';
import { createNamespace, deleteNamespace, execIn, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

interface Recorder extends NftRunner {
  calls: string[];
  corruptNext: boolean;
}

function recording(nft: Nft): Recorder {
  const r: Recorder = {
    calls: [],
    corruptNext: false,
    run: (tx) => {
      r.calls.push('run');
      if (r.corruptNext) {
        r.corruptNext = false;
        return nft.run(`${tx}add rule ip kube-proxy no-such-chain drop\n`);
      }
      return nft.run(tx);
    },
    listObjects: (f) => (r.calls.push('list'), nft.listObjects(f)),
    chainsPresent: (f, c) => (r.calls.push('probe'), nft.chainsPresent(f, c)),
    deleteTable: (f) => nft.deleteTable(f),
  };
  return r;
}

describeWith('nftables proxier on the real kernel', ['root'], () => {
  let ns = '';
  let nft: Nft;
  beforeAll(async () => {
    ns = await createNamespace('nftprox');
    nft = createNft(nsExec(ns));
  });
  afterAll(async () => {
    if (ns !== '') await deleteNamespace(ns);
  });

  const make = (runner: NftRunner, failures: string[] = [], now = () => 0) => {
    const logger = recordingLogger();
    const proxier = new NftablesProxier({
      family: 'IPv4', nft: runner, options: () => upstreamNftOptions('IPv4', { batchElements: true }), logger, now, probeIntervalMs: 0,
      metrics: { incRestoreFailure: () => undefined, incNftablesFailure: (k) => void failures.push(k) },
    });
    return { proxier, logger };
  };
  const list = async (): Promise<string> => (await execIn(ns, 'nft', ['list', 'table', 'ip', 'kube-proxy'])).stdout;
  const partial = (s: ProxyState): ProxyState => ({ ...s, full: false });

  describe('start, partial syncs, flush repair, failure', () => {
    it('lists the kernel at start only, never on partial syncs', async () => {
      await nft.deleteTable('ip');
      const r = recording(nft);
      const { proxier } = make(r);
      const s = overallState();
      expect((await proxier.sync(s)).kind).toBe('full');
      expect(r.calls).toEqual(['list', 'run']);
      r.calls.length = 0;
      // The model hands the same objects for what did not change: nothing to write, no nft run.
      expect((await proxier.sync(partial(s))).kind).toBe('noop');
      expect(r.calls).toEqual(['probe']);
      expect((await proxier.sync({ ...s, full: false, changedServices: new Set(['ns1/svc1:p80']) })).kind).toBe('partial');
      expect(r.calls.filter((c) => c === 'list')).toEqual([]);
      expect(await list()).toContain('service-ULMVA6XW-ns1/svc1/tcp/p80');
    });

    it('repairs a `nft flush ruleset` at the next sync', async () => {
      const r = recording(nft);
      const { proxier, logger } = make(r);
      await proxier.sync(overallState());
      await execIn(ns, 'nft', ['flush', 'ruleset']);
      expect((await proxier.sync(partial(overallState()))).kind).toBe('full');
      expect(logger.entries.some((e) => e.msg.includes('base chain missing'))).toBe(true);
      const t = await list();
      expect(t).toContain('jump services');
      expect(t).toContain('172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80');
    });

    it('logs a refused transaction with its failing line and command, counts it, and recovers with a full sync', async () => {
      const r = recording(nft);
      const failures: string[] = [];
      const { proxier, logger } = make(r, failures);
      await proxier.sync(overallState());
      r.corruptNext = true;
      const changed = overallState({ full: false, changedEndpoints: new Set(['ns3/svc3:p80']) });
      await expect(proxier.sync(changed)).rejects.toMatchObject({ code: 'KP_ERR_RULES_APPLY' });
      expect(failures).toEqual(['sync']);
      const err = logger.entries.find((e) => e.msg === 'nftables transaction failed');
      expect(err?.fields).toMatchObject({ command: 'add rule ip kube-proxy no-such-chain drop' });
      expect(typeof err?.fields.line).toBe('number');
      expect(proxier.needFullSync).toBe(true);
      r.calls.length = 0;
      expect((await proxier.sync(partial(overallState()))).kind).toBe('full');
      expect(r.calls).toEqual(['list', 'run']);
    });
  });

  it('a restart on a populated table replaces it in one transaction: a Service deleted meanwhile is gone', async () => {
    const first = make(nft).proxier;
    await first.sync(overallState());
    const state = overallState();
    const services = new Map(state.services);
    services.delete('ns3/svc3:p80');
    const r = recording(nft);
    const restarted = make(r).proxier;
    await restarted.sync({ ...state, services });
    expect(r.calls).toEqual(['list', 'run']);
    const t = await list();
    expect(t).not.toContain('ns3/svc3');
    expect(t).not.toContain('tcp . 3003');
    expect(t).toContain('service-ULMVA6XW-ns1/svc1/tcp/p80');
  });

  it('replaces a table of an older layout (base chains at other priorities) in one transaction', async () => {
    await nft.deleteTable('ip');
    await execIn(ns, 'nft', ['-f', '-'], 'add table ip kube-proxy\nadd chain ip kube-proxy filter-input { type filter hook input priority -110 ; }\nadd chain ip kube-proxy filter-output-post-dnat { type filter hook output priority -90 ; }\n');
    const { proxier } = make(nft);
    await proxier.sync(overallState());
    const t = await list();
    expect(t).toMatch(/chain filter-input \{\n\t\ttype filter hook input priority filter; policy accept;/);
  });
});
