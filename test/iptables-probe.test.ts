// One iptables-restore that only asks (src/system/iptables-probe.ts) and the jump/canary ensure
// built on it (src/backends/iptables/io/ensure-builtins.ts), against the real tools of both
// back-ends, each case in a throw-away namespace: a missing rule or chain answers false (the
// nft --test pitfall), a probe writes nothing, and ensureBuiltins costs one process when all is in
// place and repairs exactly what was removed otherwise.
import { afterAll, expect, it } from 'vitest';
import { canaryPresent, ensureBuiltins, withProbedBuiltins } from '../src/backends/common/io/ensure-builtins.ts';
import { createIptablesApplier } from '../src/backends/common/iptables-rules-applier.ts';
import { argsToRestore, CANARY_CHAIN, kubeletJumps, requiredJumps } from '../src/backends/iptables/jumps.ts';
import type { Exec } from '../src/system/exec.ts';
import { createIptables, RestoreError, type XtablesBackend } from '../src/system/iptables.ts';
import { createNamespace, deleteAllNamespaces, execIn, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const backends: readonly XtablesBackend[] = ['legacy', 'nft'];
const jumps = [...requiredJumps(), ...kubeletJumps()];

/** Exec in `ns` that records every command line. */
function counting(ns: string, calls: string[]): Exec {
  const base = nsExec(ns);
  return (file, args, o) => {
    calls.push(`${file} ${args.join(' ')}`);
    return base(file, args, o);
  };
}

/** Everything in the tables except counters (which the kernel moves on its own). */
async function ruleset(ns: string, backend: XtablesBackend): Promise<string> {
  const saved = (await execIn(ns, `iptables-${backend}-save`, [])).stdout;
  return saved.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '')).join('\n');
}

describeWith('iptables probe and built-in jumps', ['root', 'iptables'], () => {
  afterAll(async () => {
    await deleteAllNamespaces();
  });

  for (const backend of backends) {
    it(`${backend}: a probe answers each -C and -S truthfully and writes nothing`, async () => {
      const ns = await createNamespace(`ipt2-probe-${backend}`);
      const probe = createIptables(nsExec(ns), 'IPv4', backend).probe;
      await execIn(ns, `iptables-${backend}-restore`, ['--noflush'], '*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n');
      // Legacy instantiates a namespace's table on first use (empty, ACCEPT policies), which a
      // probe of that table does too: instantiate them first, so "unchanged" means our chains.
      for (const t of ['filter', 'mangle']) await execIn(ns, `iptables-${backend}`, ['-t', t, '-S']);
      const before = await ruleset(ns, backend);
      const present = { table: 'nat', line: '-C PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' };
      const cases: [string, boolean, { table: string; line: string }[]][] = [
        ['present rule', true, [present]],
        ['present chain', true, [present, { table: 'nat', line: '-S KUBE-SERVICES' }]],
        ['rule with another comment', false, [present, { table: 'nat', line: '-C PREROUTING -m comment --comment "other" -j KUBE-SERVICES' }]],
        ['rule in another built-in chain', false, [{ table: 'nat', line: '-C OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' }]],
        ['missing chain', false, [present, { table: 'nat', line: `-S ${CANARY_CHAIN}` }]],
        ['missing chain in another table', false, [present, { table: 'mangle', line: `-S ${CANARY_CHAIN}` }]],
        ['jump to a missing chain', false, [{ table: 'filter', line: '-C INPUT -j KUBE-FIREWALL' }]],
      ];
      const got = [];
      for (const [name, , lines] of cases) got.push([name, await probe(lines)]);
      expect(got).toEqual(cases.map(([name, want]) => [name, want]));
      expect(await ruleset(ns, backend)).toBe(before);
    });

    it(`${backend}: ensureBuiltins writes what is missing in one restore, then costs one process, and repairs a deleted jump`, async () => {
      const ns = await createNamespace(`ipt2-builtins-${backend}`);
      const calls: string[] = [];
      const exec = counting(ns, calls);
      const ipt = createIptables(exec, 'IPv4', backend);
      expect(await ensureBuiltins(ipt, jumps)).toBe(false);
      // Empty tables: the failed probe, one save per table, one restore writing it all.
      expect(calls.map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual([
        `iptables-${backend}-restore --noflush${backend === 'legacy' ? ' --test' : ' -w'}`,
        `iptables-${backend}-save -t filter`,
        `iptables-${backend}-save -t nat`,
        `iptables-${backend}-save -t mangle`,
        `iptables-${backend}-restore --noflush --counters`,
      ]);
      const saved = async (): Promise<string[]> => (await execIn(ns, `iptables-${backend}-save`, [])).stdout.split('\n');
      const first = await saved();
      // Each jump once, in upstream's order (later ones prepended ahead), and a canary per table.
      for (const j of jumps) expect(first.filter((l) => l === `-A ${j.chain} ${argsToRestore(j.args)}`), `${j.chain} -> ${j.target}`).toHaveLength(1);
      expect(first.filter((l) => l.startsWith('-A INPUT ')).map((l) => /-j (\S+)/.exec(l)?.[1])).toEqual(['KUBE-FIREWALL', 'KUBE-PROXY-FIREWALL', 'KUBE-NODEPORTS', 'KUBE-EXTERNAL-SERVICES']);
      expect(first.filter((l) => l.startsWith(`:${CANARY_CHAIN} `))).toHaveLength(3);

      calls.length = 0;
      const before = await ruleset(ns, backend);
      expect(await ensureBuiltins(ipt, jumps)).toBe(true);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatch(new RegExp(`^iptables-${backend}-restore --noflush`));
      expect(await ruleset(ns, backend)).toBe(before);

      // Someone deletes one jump and one canary: the probe fails and exactly those come back.
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-D', 'POSTROUTING', '-m', 'comment', '--comment', 'kubernetes postrouting rules', '-j', 'KUBE-POSTROUTING']);
      await execIn(ns, `iptables-${backend}`, ['-t', 'mangle', '-X', CANARY_CHAIN]);
      expect(await ruleset(ns, backend)).not.toBe(before);
      expect(await canaryPresent(ipt)).toBe(false);
      expect(await ensureBuiltins(ipt, jumps)).toBe(false);
      expect(await ruleset(ns, backend)).toBe(before);
      expect(await ensureBuiltins(ipt, jumps)).toBe(true);
      expect(await canaryPresent(ipt)).toBe(true);
    });

    it(`${backend}: the applier as setup.ts wires it: checks ride on the restore once verified, and a deleted jump is repaired`, async () => {
      const ns = await createNamespace(`ipt2-applier-${backend}`);
      const calls: string[] = [];
      const ipt = createIptables(counting(ns, calls), 'IPv4', backend);
      const applier = withProbedBuiltins(createIptablesApplier(ipt), ipt);
      const payload = (rule: string): string[] => ['*filter\n:KUBE-FORWARD - [0:0]\n-A KUBE-FORWARD -j ACCEPT\nCOMMIT\n', `*nat\n:KUBE-SERVICES - [0:0]\n${rule}\nCOMMIT\n`];
      const fullSync = async (rule: string): Promise<void> => {
        await applier.ensureJumps(jumps);
        await applier.ensureCanary();
        await applier.restore(payload(rule));
      };
      // First full sync: the probe finds nothing, so everything is written, then the payload.
      await fullSync('-A KUBE-SERVICES -d 10.96.0.1/32 -j RETURN');
      const first = await ruleset(ns, backend);
      expect(first.split('\n').filter((l) => l.startsWith(`:${CANARY_CHAIN} `))).toHaveLength(3);
      for (const j of jumps) expect(first).toContain(`-A ${j.chain} ${argsToRestore(j.args)}`);
      // Later full syncs: one process, the restore itself, with the checks inside.
      calls.length = 0;
      await fullSync('-A KUBE-SERVICES -d 10.96.0.2/32 -j RETURN');
      expect(calls).toEqual([`iptables-${backend}-restore --noflush --counters -w`]);
      expect(await ruleset(ns, backend)).toBe(first.replace('10.96.0.1/32', '10.96.0.2/32'));
      // Someone deletes a jump and the mangle canary: the checked restore fails before committing
      // nat, ensureBuiltins repairs, the payload goes in.
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-D', 'POSTROUTING', '-m', 'comment', '--comment', 'kubernetes postrouting rules', '-j', 'KUBE-POSTROUTING']);
      await execIn(ns, `iptables-${backend}`, ['-t', 'mangle', '-X', CANARY_CHAIN]);
      await fullSync('-A KUBE-SERVICES -d 10.96.0.3/32 -j RETURN');
      expect(await ruleset(ns, backend)).toBe(first.replace('10.96.0.1/32', '10.96.0.3/32'));
      // A real error in the payload is still the caller's, checks or not.
      await expect(fullSync('-A KUBE-SERVICES -j KUBE-SVC-MISSING')).rejects.toBeInstanceOf(RestoreError);
      expect(await ruleset(ns, backend)).toBe(first.replace('10.96.0.1/32', '10.96.0.3/32'));
      // The partial-sync canary poll: one process, mangle only.
      calls.length = 0;
      expect(await applier.canaryPresent()).toBe(true);
      expect(calls).toEqual([`iptables-${backend} -w 5 -t mangle -S ${CANARY_CHAIN} 1`]);
      // After a clean-up, ensureCanary on its own (no ensureJumps before it) creates the canaries again.
      await applier.cleanup();
      expect(await applier.canaryPresent()).toBe(false);
      await applier.ensureCanary();
      expect(await applier.canaryPresent()).toBe(true);
    });
  }
});
