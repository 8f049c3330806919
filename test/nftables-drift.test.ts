// Drift in nftables mode against the real kernel in a namespace of this test: someone deletes a
// base chain of ours, adds a rule inside one of our chains, or adds a chain to our table. The next
// sync's check (at most once per syncPeriod, the probe's cadence; here every sync) lists the
// differences, exports their number as kubeproxyts_ruleset_drift{ip_family} (the real prom-client
// registry), and that sync is a full one that puts back exactly the table that was written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overallState } from '../src/backends/iptables/testing/upstream-cases.ts';
import { NftablesProxier } from '../src/backends/nftables/proxier.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import type { ProxyState } from '../src/model/types.ts';
import { PromMetrics } from '../src/server/metrics.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { createNft } from '../src/system/nft.ts';
import { createNamespace, deleteNamespace, execIn, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

describeWith('nftables drift: detected, exported, repaired (real kernel)', ['root'], () => {
  let ns = '';
  const metrics = new PromMetrics();
  const checks: string[][] = [];
  let proxier: NftablesProxier;
  const s: ProxyState = overallState();
  const partial: ProxyState = { ...s, full: false };
  beforeAll(async () => {
    ns = await createNamespace('nftdrift');
    proxier = new NftablesProxier({
      family: 'IPv4', nft: createNft(nsExec(ns)), options: () => upstreamNftOptions('IPv4', { batchElements: true }), logger: recordingLogger(), probeIntervalMs: 0,
      metrics: {
        incRestoreFailure: () => undefined,
        setRulesetDrift: (f, at, d) => {
          checks.push([...d]);
          metrics.setRulesetDrift(f, at, d);
        },
      },
    });
  });
  afterAll(async () => {
    if (ns !== '') await deleteNamespace(ns);
  });
  const nft = async (...args: string[]): Promise<string> => (await execIn(ns, 'nft', args)).stdout;
  const listing = (): Promise<string> => nft('list', 'table', 'ip', 'kube-proxy');
  const driftMetric = async (): Promise<number | undefined> => {
    const m = /^kubeproxyts_ruleset_drift\{ip_family="IPv4"\} (\d+)$/m.exec((await metrics.render()).body);
    return m === null ? undefined : Number(m[1]);
  };

  let written = '';
  it('no drift after our own syncs', async () => {
    expect((await proxier.sync(s)).kind).toBe('full');
    written = await listing();
    expect((await proxier.sync(partial)).kind).toBe('noop');
    expect(checks.at(-1)).toEqual([]);
    expect(await driftMetric()).toBe(0);
  });

  describe.each([
    ['a base chain of ours deleted', ['delete', 'chain', 'ip', 'kube-proxy', 'nat-output'], ['chain nat-output is missing']],
    ['a rule added inside our services chain', ['insert', 'rule', 'ip', 'kube-proxy', 'services', 'ip', 'daddr', '172.30.0.41', 'drop'], ['chain services holds 4 rules, the daemon wrote 3']],
    ['a chain added to our table', ['add', 'chain', 'ip', 'kube-proxy', 'intruder'], ['chain intruder is not ours (not written by the daemon)']],
  ] as const)('%s', (_name, tamper, differences) => {
    it('is listed and counted, and the same sync repairs it', async () => {
      await nft(...tamper);
      expect(await listing()).not.toBe(written);
      expect((await proxier.sync(partial)).kind).toBe('full');
      expect(checks.at(-1)).toEqual(differences);
      expect(await driftMetric()).toBe(differences.length);
      expect(await listing()).toBe(written);
      expect((await proxier.sync(partial)).kind).toBe('noop');
      expect(checks.at(-1)).toEqual([]);
      expect(await driftMetric()).toBe(0);
    });
  });
});
