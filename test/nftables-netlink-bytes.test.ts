// Our nf_tables messages against the ones nft sends for the same text (`nft --debug=mnl`, parsed
// back into bytes), attribute by attribute: every line of upstream's TestOverallNFTablesRules case
// rendered by us that the compiler takes (IPv4), and of generated Services (IPv6), each checked in
// a namespace of this test holding the table (nft's -c needs it to resolve names). Set ids are
// normalised (src/netlink/nftables/testing/attr-tree.ts).
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { overallState } from '../src/backends/iptables/testing/upstream-cases.ts';
import { compileTransaction } from '../src/backends/nftables/compile/transaction.ts';
import { encodeCompiled } from '../src/backends/nftables/io/netlink-writer.ts';
import { renderTransaction } from '../src/backends/nftables/render.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { commentUdata } from '../src/netlink/nftables/messages.ts';
import { printBatch } from '../src/netlink/nftables/print.ts';
import { attrTree } from '../src/netlink/nftables/testing/attr-tree.ts';
import { parseMnlDump } from '../src/netlink/nftables/testing/mnl-dump.ts';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { svcGen, transactions } from './support/nft-services.ts';
import { describeWith } from './support/requirements.ts';

/** nft's batch messages: nf_tables subsystem, not its cache's GET requests (1, 4, 10, 16, 19, 23). */
const GETS = new Set([1, 4, 7, 10, 13, 16, 19, 23]);

const hexName = (s: string): string => [...new TextEncoder().encode(`${s}\0`)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** Printed output split at each block's first line; element blocks of named sets sorted after the rest. */
function blocks(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    // `FAMILY kube-proxy @__set0`: an existing anonymous set nft printed while filling its cache.
    if (/^ip6? kube-proxy @/.test(line)) {
      out.push('(cache)');
      continue;
    }
    if (/^\s/.test(line) && out.length > 0) out[out.length - 1] += `\n${line}`;
    else out.push(line);
  }
  const elems = (b: string): boolean => /^[^_\s]\S* kube-proxy 0\n/.test(b);
  const rest = out.filter((b) => !b.startsWith('(cache)'));
  return [...rest.filter((b) => !elems(b)), ...rest.filter(elems).sort()];
}

/** The lines of `full` the compiler takes one by one, plus chain/element deletions of their own. */
function compilable(full: string, fam: 'ip' | 'ip6'): string[] {
  return full.split('\n').filter((l) => l !== '' && !l.startsWith('delete') && !('unsupported' in compileTransaction(`${l}\n`, fam)));
}

describeWith('nf_tables messages equal nft --debug=mnl', ['root'], () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('nlbytes');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  const cases: Array<[string, 'ip' | 'ip6', () => string]> = [
    ['IPv4, upstream TestOverallNFTablesRules', 'ip', () => renderTransaction({ state: overallState(), opts: upstreamNftOptions(), nowMs: 0 }).transaction],
    ['IPv6, generated Services', 'ip6', () => transactions('IPv6', fc.sample(svcGen(true), { numRuns: 12, seed: 12 }), [[0, null]])[0] ?? ''],
    ['IPv4, generated Services', 'ip', () => transactions('IPv4', fc.sample(svcGen(false), { numRuns: 12, seed: 7 }), [[0, null]])[0] ?? ''],
  ];
  for (const [name, fam, make] of cases) {
    it(name, async () => {
      const full = make();
      await execIn(ns, 'nft', ['flush', 'ruleset']);
      await execIn(ns, 'nft', ['-f', '-'], full);
      const lines = compilable(full, fam);
      const extra = [`add chain ${fam} kube-proxy probe-chain`, `flush chain ${fam} kube-proxy probe-chain`, `delete chain ${fam} kube-proxy probe-chain`];
      const elems = lines.filter((l) => l.startsWith(`add element ${fam} kube-proxy cluster-ips`)).map((l) => l.replace(/^add/, 'delete'));
      const tx = [...lines, ...extra, ...elems].join('\n') + '\n';
      const dump = (await execIn(ns, 'nft', ['--debug=mnl', '-c', '-f', '-'], tx)).stdout;
      const theirs = parseMnlDump(dump).filter((m) => m.type >> 8 === 10 && !GETS.has(m.type & 0xff)).map((m) => attrTree(m.type, m.payload));
      const compiled = compileTransaction(tx, fam);
      if ('unsupported' in compiled) throw new Error(`not compiled: ${compiled.unsupported}`);
      const ours = encodeCompiled(compiled).map((m) => attrTree(m.type, m.payload));
      expect(lines.filter((l) => l.startsWith('add rule')).length).toBeGreaterThan(5);
      // nft may send consecutive element additions of one map in another order: elements compare as
      // a sorted list, everything else (chains, rules and the anonymous sets before them) in order.
      const named = (t: string): boolean => /^msg 1[24] /.test(t) && !t.includes(hexName('__map%d'));
      expect(ours.filter((t) => !named(t))).toEqual(theirs.filter((t) => !named(t)));
      expect(ours.filter(named).sort()).toEqual(theirs.filter(named).sort());
      // The IR printed as nft --debug=netlink prints nft's bytecode for the same text (blocks of
      // named-set elements sorted, as above).
      const printed = (await execIn(ns, 'nft', ['--debug=netlink', '-c', '-f', '-'], tx)).stdout;
      expect(blocks(printBatch(fam, 'kube-proxy', compiled.commands, commentUdata))).toEqual(blocks(printed));
    }, 60_000);
  }
});
