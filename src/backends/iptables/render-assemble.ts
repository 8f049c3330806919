// The second half of a render: the top-level chains (from every service port's memoized lines
// plus the fixed ones), stale-chain deletion, the payload text and the stats. On a partial sync
// a top-level chain is written only when some service port's lines in it changed (or a port
// with lines in it came or went); the fixed chains depend only on the options, which a partial
// sync shares with the last one, so they are skipped. A chain left out is not even declared, and
// iptables-restore --noflush leaves it untouched (a step past upstream, same end state).
import type { IPFamily, ServicePortName } from '../../model/types.ts';
import type { NodePortSelection, RenderOptions } from './options.ts';
import type { Lines } from './render-lines.ts';
import type { DirtyTop, RenderMemo, ServiceMemo, TopKey } from './render-memo.ts';
import { renderForwardRules, renderMarkMasq, renderNodePortsJump, renderPostrouting } from './render-top.ts';
import { ChunkJoiner, RestorePayload } from './render-payload.ts';
import type { RenderResult } from './render.ts';

export interface AssembleInput {
  readonly opts: RenderOptions;
  readonly full: boolean;
  readonly order: readonly ServicePortName[];
  readonly services: ReadonlyMap<ServicePortName, ServiceMemo>;
  readonly dirty: DirtyTop;
  readonly stale: ReadonlySet<string>;
  readonly decl: Lines;
  readonly rules: Lines;
  readonly written: number;
  readonly totalEndpoints: number;
  readonly largeClusterMode: boolean;
  readonly localhostNodePorts: boolean;
  readonly npSel: NodePortSelection;
  readonly isIPv6: boolean;
  readonly key: string;
  readonly family: IPFamily;
}

/** A top-level chain: its per-service lines (by memo key) and fixed lines after them. */
interface TopChain {
  readonly chain: string;
  readonly perService?: TopKey;
  readonly fixed: readonly string[];
}

export function assemble(a: AssembleInput): RenderResult {
  const { opts, full, order, services, dirty, stale } = a;
  const postrouting: string[] = [];
  const markMasq: string[] = [];
  const forward: string[] = [];
  const natServicesTail: string[] = [];
  renderPostrouting(postrouting, opts);
  renderMarkMasq(markMasq, opts);
  renderForwardRules(forward, opts);
  renderNodePortsJump(natServicesTail, opts, a.npSel, a.isIPv6, a.localhostNodePorts);

  // Upstream's declaration order.
  const filterChains: TopChain[] = [
    { chain: 'KUBE-SERVICES', perService: 'filterServices', fixed: [] },
    { chain: 'KUBE-EXTERNAL-SERVICES', perService: 'filterExternal', fixed: [] },
    { chain: 'KUBE-FORWARD', fixed: forward },
    { chain: 'KUBE-NODEPORTS', perService: 'filterNodePorts', fixed: [] },
    { chain: 'KUBE-PROXY-FIREWALL', perService: 'filterFirewall', fixed: [] },
  ];
  if (a.localhostNodePorts) {
    // CVE-2020-8558 mitigation (kubernetes/kubernetes#90259); kubelet writes the same rule.
    filterChains.push({ chain: 'KUBE-FIREWALL', fixed: ['-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP'] });
  }
  const natChains: TopChain[] = [
    { chain: 'KUBE-SERVICES', perService: 'natServices', fixed: natServicesTail },
    { chain: 'KUBE-NODEPORTS', perService: 'natNodePorts', fixed: [] },
    { chain: 'KUBE-POSTROUTING', fixed: postrouting },
    { chain: 'KUBE-MARK-MASQ', fixed: markMasq },
  ];

  // Totals over every service port (memoized or not): one pass, no rendering.
  const totals = { natServices: 0, natNodePorts: 0, filterServices: 0, filterExternal: 0, filterNodePorts: 0, filterFirewall: 0 };
  let chainRules = 0;
  let noLocalInternal = 0;
  let noLocalExternal = 0;
  const ms: ServiceMemo[] = [];
  for (const name of order) {
    const m = services.get(name);
    if (m === undefined) continue;
    ms.push(m);
    const t = m.top;
    totals.natServices += t.natServices.length;
    totals.natNodePorts += t.natNodePorts.length;
    totals.filterServices += t.filterServices.length;
    totals.filterExternal += t.filterExternal.length;
    totals.filterNodePorts += t.filterNodePorts.length;
    totals.filterFirewall += t.filterFirewall.length;
    chainRules += m.chainRules;
    if (m.noLocalInternal) noLocalInternal++;
    if (m.noLocalExternal) noLocalExternal++;
  }

  const emit = (chains: readonly TopChain[], declOut: string[], rulesOut: string[]): { total: number; written: number } => {
    let total = 0;
    let written = 0;
    for (const c of chains) {
      const n = (c.perService === undefined ? 0 : totals[c.perService]) + c.fixed.length;
      total += n;
      if (!full && (c.perService === undefined || !dirty[c.perService])) continue;
      written += n;
      declOut.push(`:${c.chain} - [0:0]\n`);
      const body: string[] = [];
      if (c.perService !== undefined) {
        const k = c.perService;
        for (const m of ms) for (const l of m.top[k]) body.push(l);
      }
      for (const l of c.fixed) body.push(l);
      if (body.length > 0) {
        body.push('');
        rulesOut.push(body.join('\n'));
      }
    }
    return { total, written };
  };

  const fDecl: string[] = [];
  const fRules: string[] = [];
  const f = emit(filterChains, fDecl, fRules);
  const nDecl: string[] = [];
  const nRules: string[] = [];
  const n = emit(natChains, nDecl, nRules);
  const natTopDecl = nDecl.length;
  a.decl.drainTo(nDecl);
  for (const c of stale) nDecl.push(`:${c} - [0:0]\n`);
  a.rules.drainTo(nRules);
  for (const c of stale) nRules.push(`-X ${c}\n`);

  const filter = ['*filter\n', ...fDecl, ...fRules, 'COMMIT\n'].join('');
  // Small pieces (top-level chains, one per stale chain) are merged so no chunk is tiny; the
  // per-service Lines chunks go through as they are.
  const chunks = [filter];
  const nat = new ChunkJoiner(chunks);
  nat.add('*nat\n');
  for (const x of nDecl) nat.add(x);
  for (const x of nRules) nat.add(x);
  nat.add('COMMIT\n');
  nat.end();
  const memo: RenderMemo = { family: a.family, optionsKey: a.key, largeClusterMode: a.largeClusterMode, services, order };
  return {
    payload: new RestorePayload(chunks, 1),
    stats: {
      full,
      servicePorts: services.size,
      servicePortsWritten: a.written,
      endpoints: a.totalEndpoints,
      largeClusterMode: a.largeClusterMode,
      filterRules: f.total,
      natRulesWritten: n.written + a.rules.count,
      natRulesTotal: n.total + chainRules,
      natChainsWritten: natTopDecl + a.decl.count + stale.size,
      deletedChains: stale.size,
      noLocalEndpointsInternal: noLocalInternal,
      noLocalEndpointsExternal: noLocalExternal,
    },
    memo,
  };
}
