// Drift in iptables mode against the real kernel in a namespace of this test, once per back-end
// (legacy, nft): someone adds a rule inside KUBE-SERVICES, deletes a KUBE-SVC- chain (and the rules
// jumping to it), or deletes the jump from PREROUTING. The next check (at most once per syncPeriod,
// the canary's cadence; here every sync) lists the differences, exports their number as
// kubeproxyts_ruleset_drift{ip_family} (the real prom-client registry) and makes that sync a full
// one, after which iptables-save shows exactly the rules that were written and the check is clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIptablesApplier } from '../src/backends/common/iptables-rules-applier.ts';
import { kubeletJumps, requiredJumps } from '../src/backends/iptables/jumps.ts';
import { IptablesProxier } from '../src/backends/iptables/proxier.ts';
import { renderRules, type RenderMemo } from '../src/backends/iptables/render.ts';
import { tokenize } from '../src/backends/iptables/trace/restore-parse.ts';
import { overallState } from '../src/backends/iptables/testing/upstream-cases.ts';
import { upstreamOptions } from '../src/backends/iptables/testing/fixtures.ts';
import type { ProxyState } from '../src/model/types.ts';
import { PromMetrics } from '../src/server/metrics.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { createIptables, type XtablesBackend } from '../src/system/iptables.ts';
import { createNamespace, deleteNamespace, execIn, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

/** The listing without its timestamps and counters, to compare before and after a repair. */
const rulesOf = (saved: string): string =>
  saved.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).join('\n');

for (const backend of ['legacy', 'nft'] as const satisfies readonly XtablesBackend[]) {
  describeWith(`iptables drift (${backend}): detected, exported, repaired (real kernel)`, ['root', 'iptables'], () => {
    let ns = '';
    const metrics = new PromMetrics();
    const checks: string[][] = [];
    const logger = recordingLogger();
    let proxier: IptablesProxier<RenderMemo>;
    const s: ProxyState = overallState();
    const partial: ProxyState = { ...s, full: false };
    const ipt = (...args: string[]) => execIn(ns, `iptables-${backend}`, args);
    const save = async (): Promise<string> => rulesOf((await execIn(ns, `iptables-${backend}-save`, [])).stdout);
    const driftMetric = async (): Promise<number | undefined> => {
      const m = /^kubeproxyts_ruleset_drift\{ip_family="IPv4"\} (\d+)$/m.exec((await metrics.render()).body);
      return m === null ? undefined : Number(m[1]);
    };
    beforeAll(async () => {
      ns = await createNamespace(`iptdrift${backend}`);
      proxier = new IptablesProxier<RenderMemo>({
        family: 'IPv4',
        applier: createIptablesApplier(createIptables(nsExec(ns), 'IPv4', backend)),
        render: renderRules,
        jumps: () => [...requiredJumps(), ...kubeletJumps()],
        // No nfacct objects exist in the test's namespace.
        renderOptions: () => upstreamOptions('IPv4', { nfacct: { localhostNodePortsAccepted: false, invalidDropped: false } }),
        logger,
        canaryIntervalMs: 0,
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

    let written = '';
    let svcChain = '';
    it('no drift after our own syncs: what iptables-save respells compares equal', async () => {
      expect((await proxier.sync(s)).kind).toBe('full');
      written = await save();
      expect((await proxier.sync(partial)).kind).toBe('partial');
      expect(checks.at(-1)).toEqual([]);
      expect(await driftMetric()).toBe(0);
      svcChain = /^:(KUBE-SVC-\S+)/m.exec(written)?.[1] ?? '';
      expect(svcChain).not.toBe('');
    });

    const cases: [string, () => Promise<unknown>, () => string[]][] = [
      ['a rule added inside KUBE-SERVICES', () => ipt('-t', 'nat', '-I', 'KUBE-SERVICES', '1', '-d', '172.30.0.41/32', '-j', 'RETURN'), () => ['nat chain KUBE-SERVICES: 1 rule(s) added (11, expected 10)']],
      [
        'a KUBE-SVC- chain deleted (with the rules jumping to it)',
        async () => {
          const jumpers = written.split('\n').filter((l) => l.startsWith('-A ') && l.includes(`-j ${svcChain}`));
          for (const l of jumpers) await ipt('-t', 'nat', '-D', ...tokenize(l.slice(3)));
          await ipt('-t', 'nat', '-F', svcChain);
          await ipt('-t', 'nat', '-X', svcChain);
        },
        // The chain's jumps went with it: its ClusterIP rule and its EXT chain's jump.
        () => ['nat chain KUBE-SERVICES: 1 rule(s) removed (9, expected 10)', `nat chain ${svcChain.replace('SVC', 'EXT')}: 1 rule(s) removed (1, expected 2)`, `nat chain ${svcChain} missing`],
      ],
      ['the jump from PREROUTING deleted', () => ipt('-t', 'nat', '-D', 'PREROUTING', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'), () => ['nat chain PREROUTING: jump -m comment --comment kubernetes service portals -j KUBE-SERVICES missing']],
    ];
    describe.each(cases)('%s', (_name, tamper, expected) => {
      it('is listed and counted, and the next check repairs it', async () => {
        await tamper();
        expect(await save()).not.toBe(written);
        expect((await proxier.sync(partial)).kind).toBe('full');
        const got = checks.at(-1);
        const want = expected();
        expect(got).toEqual(want);
        expect(await driftMetric()).toBe(want.length);
        expect(await save()).toBe(written);
        expect((await proxier.sync(partial)).kind).toBe('partial');
        expect(checks.at(-1)).toEqual([]);
        expect(await driftMetric()).toBe(0);
      });
    });
  });
}
