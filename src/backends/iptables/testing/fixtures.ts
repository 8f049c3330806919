// Test fixtures shaped like upstream proxier_test.go (NewFakeProxier, makeTestService,
// sortIPTablesRules), so our goldens can be compared with upstream's expectations verbatim.
import type { IPFamily } from '../../../model/types.ts';
import { TEST_LOCAL_ADDRESSES, TEST_NODE_IP, TEST_NODE_IPV6 } from '../../common/testing/fixtures.ts';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../options.ts';
import { parseRestore, type ParsedChain } from '../trace/restore-parse.ts';

export * from '../../common/testing/fixtures.ts';

/** upstream NewFakeProxier: mark 0x4000, pod CIDR 10.0.0.0/8 (fd00:10::/64), localhost NodePorts, nfacct present. */
export function upstreamOptions(family: IPFamily = 'IPv4', over: Partial<RenderOptions> = {}): RenderOptions {
  const cidr = family === 'IPv4' ? '10.0.0.0/8' : 'fd00:10::/64';
  return {
    ...DEFAULT_RENDER_OPTIONS,
    masqueradeMark: '0x4000',
    localDetector: { ifLocal: `-s ${cidr}`, ifNotLocal: `! -s ${cidr}` },
    localhostNodePorts: true,
    nodeIPs: family === 'IPv4' ? [TEST_NODE_IP] : [TEST_NODE_IPV6],
    localAddresses: TEST_LOCAL_ADDRESSES,
    nfacct: { localhostNodePortsAccepted: true, invalidDropped: true },
    ...over,
  };
}

function commentService(c: ParsedChain['rules'][number]): string | undefined {
  const i = c.args.indexOf('--comment');
  if (i < 0) return undefined;
  const v = c.args[i + 1] ?? '';
  const j = v.search(/[ :]/);
  return j === -1 ? v : v.slice(0, j);
}

function stableSortByService(rules: ParsedChain['rules'], keepLast?: (r: ParsedChain['rules'][number]) => boolean): void {
  const keyed = rules.map((r, i) => ({ r, i, k: commentService(r), last: keepLast?.(r) ?? false }));
  keyed.sort((a, b) => {
    if (a.last !== b.last) return a.last ? 1 : -1;
    if (a.k !== undefined && b.k !== undefined && a.k !== b.k) return a.k < b.k ? -1 : 1;
    return a.i - b.i;
  });
  rules.splice(0, rules.length, ...keyed.map((x) => x.r));
}

/** Port of upstream sortIPTablesRules: a canonical order independent of service iteration. */
export function sortLikeUpstream(text: string): string {
  const tables = [...parseRestore(text).values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const rank = (n: string): number => (n === 'KUBE-NODEPORTS' ? 0 : n === 'KUBE-SERVICES' ? 1 : n.startsWith('KUBE-') ? 2 : 3);
  let out = '';
  for (const t of tables) {
    const chains = [...t.chains.values()].sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of chains) {
      if (c.name === 'KUBE-NODEPORTS') stableSortByService(c.rules);
      if (c.name === 'KUBE-SERVICES') {
        stableSortByService(c.rules, t.name === 'nat' ? (r) => r.raw.includes('must be the last rule') : undefined);
      }
    }
    out += `*${t.name}\n`;
    for (const c of chains) out += `:${c.name} ${c.policy} [0:0]\n`;
    for (const c of chains) for (const r of c.rules) out += r.raw + '\n';
    for (const d of t.deleted) out += `-X ${d}\n`;
    out += 'COMMIT\n';
  }
  return out;
}
