// The second half of a render: the top-level chains (from every service port's memoized lines
// plus the fixed ones), stale-chain deletion, the payload and the stats. The filter table is
// small and made here; the nat table is a generator run while iptables-restore reads it, in
// upstream's layout: every `:CHAIN` first, then the top-level rules, then each written service
// port's chain rules (render-chains.ts, the bulk), then `-X` of stale chains. On a partial sync
// a top-level chain is written only when some service port's lines in it changed (or a port
// with lines in it came or went); the fixed chains depend only on the options, which a partial
// sync shares with the last one, so they are skipped. A chain left out is not even declared, and
// iptables-restore --noflush leaves it untouched (a step past upstream, same end state).
import type { IPFamily, NodeInfo, ServicePortName } from '../../model/types.ts';
import { categorizeEndpoints, externallyAccessible } from '../../model/topology.ts';
import type { NodePortSelection, RenderOptions } from './options.ts';
import { writeServiceChains } from './render-chains.ts';
import { LineChunks } from './render-lines.ts';
import { chainCount, chainsOf, type DirtyTop, type RenderMemo, type ServiceMemo, type TopKey } from './render-memo.ts';
import { serviceNames } from './name-cache.ts';
import { RestorePayload } from './render-payload.ts';
import { portFacts } from './render-service.ts';
import { renderForwardRules, renderMarkMasq, renderNodePortsJump, renderPostrouting } from './render-top.ts';
import type { RenderResult } from './render.ts';

export interface AssembleInput {
  readonly opts: RenderOptions;
  readonly node: Pick<NodeInfo, 'name' | 'zone'>;
  readonly full: boolean;
  readonly order: readonly ServicePortName[];
  readonly services: ReadonlyMap<ServicePortName, ServiceMemo>;
  readonly dirty: DirtyTop;
  readonly stale: ReadonlySet<string>;
  /** Service ports whose own chains are written, in order (their memo entries). */
  readonly written: readonly ServiceMemo[];
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

  /** Which top-level chains are written, and their rule counts. */
  const select = (chains: readonly TopChain[]): { out: TopChain[]; total: number; written: number } => {
    const out: TopChain[] = [];
    let total = 0;
    let written = 0;
    for (const c of chains) {
      const n = (c.perService === undefined ? 0 : totals[c.perService]) + c.fixed.length;
      total += n;
      if (!full && (c.perService === undefined || !dirty[c.perService])) continue;
      written += n;
      out.push(c);
    }
    return { out, total, written };
  };
  /** The rules of `chains`, each service port's lines in order, then the fixed ones. */
  function* topRules(chains: readonly TopChain[], lines: LineChunks): Generator<string> {
    for (const c of chains) {
      const k = c.perService;
      if (k !== undefined) {
        for (const m of ms) {
          for (const l of m.top[k]) lines.push(l);
          if (lines.full) yield lines.take();
        }
      }
      for (const l of c.fixed) lines.push(l);
    }
  }

  const f = select(filterChains);
  const n = select(natChains);
  const fLines = new LineChunks();
  fLines.push('*filter');
  for (const c of f.out) fLines.push(`:${c.chain} - [0:0]`);
  // The filter table is small (top-level chains only): one string, the payload's first chunk.
  const fParts = [...topRules(f.out, fLines)];
  fLines.push('COMMIT');
  fParts.push(fLines.take());
  const filter = fParts.join('');

  let declCount = 0;
  let ruleCount = 0;
  for (const m of a.written) {
    declCount += chainCount(m);
    ruleCount += m.chainRules;
  }
  const { opts: o, node, largeClusterMode, written } = a;
  function* nat(chunkLines?: number): Generator<string> {
    const lines = new LineChunks(chunkLines);
    lines.push('*nat');
    for (const c of n.out) lines.push(`:${c.chain} - [0:0]`);
    for (const m of written) {
      for (const c of chainsOf(m)) lines.push(`:${c} - [0:0]`);
      if (lines.full) yield lines.take();
    }
    for (const c of stale) lines.push(`:${c} - [0:0]`);
    yield* topRules(n.out, lines);
    const out = lines.buffer;
    for (const m of written) {
      // Recomputed from the memo entry (cheap) rather than kept from the plan for every port.
      const cat = categorizeEndpoints(m.ordered, m.svc, node);
      writeServiceChains(o, largeClusterMode, m.svc, cat, portFacts(m.svc, cat, externallyAccessible(m.svc), serviceNames(m.names.serviceHash)), m.names, out);
      if (lines.full) yield lines.take();
    }
    for (const c of stale) lines.push(`-X ${c}`);
    lines.push('COMMIT');
    yield lines.take();
  }
  const memo: RenderMemo = { family: a.family, optionsKey: a.key, largeClusterMode: a.largeClusterMode, services, order };
  return {
    payload: new RestorePayload(filter, nat),
    stats: {
      full,
      servicePorts: services.size,
      servicePortsWritten: a.written.length,
      endpoints: a.totalEndpoints,
      largeClusterMode: a.largeClusterMode,
      filterRules: f.total,
      natRulesWritten: n.written + ruleCount,
      natRulesTotal: n.total + chainRules,
      natChainsWritten: n.out.length + declCount + stale.size,
      deletedChains: stale.size,
      noLocalEndpointsInternal: noLocalInternal,
      noLocalEndpointsExternal: noLocalExternal,
    },
    memo,
  };
}
