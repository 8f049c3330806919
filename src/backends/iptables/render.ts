// The pure iptables renderer: ProxyState -> one iptables-restore payload (filter + nat), in
// upstream kube-proxy's exact layout (pkg/proxy/iptables/proxier.go syncProxyRules). The
// applier ensures the jumps from built-in chains (jumps.ts) and runs
// `iptables-restore --noflush --counters` with `payload.text`.
//
//  nat                                                filter
//  PREROUTING/OUTPUT ─> KUBE-SERVICES                 INPUT ─> KUBE-EXTERNAL-SERVICES (ctstate NEW)
//     │  -d clusterIP --dport p ─> KUBE-SVC-x (or SVL)      ─> KUBE-NODEPORTS (health-check ACCEPT)
//     │  -d externalIP            ─> KUBE-EXT-x             ─> KUBE-PROXY-FIREWALL (ctstate NEW)
//     │  -d lbIP                  ─> KUBE-EXT-x / KUBE-FW-x FORWARD ─> KUBE-SERVICES, KUBE-EXTERNAL-SERVICES,
//     └─ last: --dst-type LOCAL   ─> KUBE-NODEPORTS               KUBE-FORWARD, KUBE-PROXY-FIREWALL
//  KUBE-NODEPORTS --dport np ─> KUBE-EXT-x            OUTPUT ─> KUBE-SERVICES, KUBE-PROXY-FIREWALL
//  KUBE-FW-x   -s range ─> KUBE-EXT-x (else falls through, filter KUBE-PROXY-FIREWALL drops)
//  KUBE-EXT-x  masq (Cluster) | pod/LOCAL short-circuit (Local) ─> KUBE-SVC-x | KUBE-SVL-x
//  KUBE-SVC-x  masq non-local ─> [affinity rcheck] ─> statistic ─> KUBE-SEP-y
//  KUBE-SEP-y  -s self ─> KUBE-MARK-MASQ (hairpin); DNAT --to-destination ip:port
//  POSTROUTING ─> KUBE-POSTROUTING: unmarked RETURN; clear mark; MASQUERADE
//  filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES: REJECT (no endpoints) / DROP (Local, none here)
//
// Partial syncs (KEP-3453): top-level chains are rewritten every time; a service port's own
// chains only when it changed (or the sync is full). A `:CHAIN` line flushes a chain and a
// chain no line mentions is left alone, so unchanged services keep their rules. Chains that
// existed last time (memo) but not now are flushed and deleted (`:X - [0:0]` + `-X X`).
import type { Endpoint, IPFamily, ServicePortName, ProxyState } from '../../model/types.ts';
import { isServiceChainName, joinHostPort } from './chain-names.ts';
import { NameCache } from './name-cache.ts';
import { selectNodePortAddresses, type RenderOptions } from './options.ts';
import { renderServicePort, type ServiceRenderContext } from './render-service.ts';
import { renderForwardRules, renderMarkMasq, renderNodePortsJump, renderPostrouting } from './render-top.ts';
import { categorizeEndpoints, externallyAccessible } from '../../model/topology.ts';

interface ServiceMemo {
  readonly chains: readonly string[];
  readonly chainRules: number;
}

/** What the next render needs from this one; keep it only if the payload was applied. */
export interface RenderMemo {
  readonly family: IPFamily;
  /** Fingerprint of the options; a different one forces a full render. */
  readonly optionsKey: string;
  readonly services: ReadonlyMap<ServicePortName, ServiceMemo>;
  readonly names: NameCache;
  /** Rules of each top-level chain (`table/chain`) as applied, to skip unchanged ones. */
  readonly top: ReadonlyMap<string, string>;
}

export interface RenderStats {
  readonly full: boolean;
  readonly servicePorts: number;
  /** Service ports whose own chains were written this time. */
  readonly servicePortsWritten: number;
  readonly endpoints: number;
  readonly largeClusterMode: boolean;
  readonly filterRules: number;
  /** nat rules in the payload (without `-X` lines), upstream IPTablesRulesLastSync. */
  readonly natRulesWritten: number;
  /** nat rules programmed in total, upstream IPTablesRulesTotal. */
  readonly natRulesTotal: number;
  readonly natChainsWritten: number;
  readonly deletedChains: number;
  readonly noLocalEndpointsInternal: number;
  readonly noLocalEndpointsExternal: number;
}

export interface RestorePayload {
  /** The whole `iptables-restore` input: `*filter … COMMIT` then `*nat … COMMIT`. */
  readonly text: string;
  readonly filter: string;
  readonly nat: string;
}

export interface RenderResult {
  readonly payload: RestorePayload;
  readonly stats: RenderStats;
  readonly memo: RenderMemo;
}

function optionsKey(family: IPFamily, opts: RenderOptions, nodeName: string, topology: string): string {
  const { existingNatChains: _ignored, ...rest } = opts;
  return JSON.stringify([family, nodeName, topology, rest]);
}

/** Sorted by `IP:port` and de-duplicated, as upstream's EndpointSlice cache hands them over. */
function orderedEndpoints(eps: readonly Endpoint[]): readonly Endpoint[] {
  let ok = true;
  let prev = '';
  for (let i = 0; i < eps.length; i++) {
    const e = eps[i] as Endpoint;
    const s = joinHostPort(e.ip, e.port);
    if (i > 0 && s <= prev) {
      ok = false;
      break;
    }
    prev = s;
  }
  if (ok) return eps;
  const byKey = new Map<string, Endpoint>();
  for (const e of eps) {
    const k = joinHostPort(e.ip, e.port);
    if (!byKey.has(k)) byKey.set(k, e);
  }
  return [...byKey.keys()].sort().map((k) => byKey.get(k) as Endpoint);
}

export function renderRules(state: ProxyState, opts: RenderOptions, previous?: RenderMemo): RenderResult {
  const family = state.family;
  const isIPv6 = family === 'IPv6';
  const key = optionsKey(family, opts, state.node.name, JSON.stringify([state.node.zone, state.node.labels]));
  const prev = previous !== undefined && previous.family === family && previous.optionsKey === key ? previous : undefined;
  const full = state.full || prev === undefined;
  const npSel = selectNodePortAddresses(opts, family);
  const localhostNodePorts = opts.localhostNodePorts && !isIPv6 && npSel.containsIPv4Loopback;

  let totalEndpoints = 0;
  for (const name of state.services.keys()) totalEndpoints += state.endpoints.get(name)?.length ?? 0;
  const largeClusterMode = totalEndpoints > opts.largeClusterEndpointsThreshold;

  const f = { services: [] as string[], external: [] as string[], nodePorts: [] as string[], firewall: [] as string[] };
  const nt = { services: [] as string[], nodePorts: [] as string[] };
  const postrouting: string[] = [];
  const markMasq: string[] = [];
  const forward: string[] = [];
  const kubeletFirewall: string[] = [];
  renderPostrouting(postrouting, opts);
  renderMarkMasq(markMasq, opts);
  if (localhostNodePorts) {
    // CVE-2020-8558 mitigation (kubernetes/kubernetes#90259); kubelet writes the same rule.
    kubeletFirewall.push('-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP');
  }

  const names = new NameCache(previous?.names);
  const ctx: ServiceRenderContext = {
    opts, isIPv6, largeClusterMode, localhostNodePorts, names, filter: f, nat: nt,
    noLocalEndpointsInternal: 0,
    noLocalEndpointsExternal: 0,
  };
  const services = new Map<ServicePortName, ServiceMemo>();
  const active = new Set<string>();
  const svcDecl: string[] = [];
  const svcRules: string[] = [];
  let written = 0;
  let skippedRules = 0;
  const order = [...state.services.keys()].sort();
  for (const name of order) {
    const svc = state.services.get(name);
    if (svc === undefined) continue;
    const eps = orderedEndpoints(state.endpoints.get(name) ?? []);
    const cat = categorizeEndpoints(eps, svc, state.node);
    const r = renderServicePort(ctx, svc, cat, externallyAccessible(svc));
    const before = prev?.services.get(name);
    const write = full || state.changedServices.has(name) || state.changedEndpoints.has(name) ||
      before === undefined || !sameChains(before.chains, r.chains);
    if (write) {
      written++;
      for (const l of r.decl) svcDecl.push(l);
      for (const l of r.rules) svcRules.push(l);
    } else {
      skippedRules += r.rules.length;
    }
    for (const c of r.chains) active.add(c);
    services.set(name, { chains: r.chains, chainRules: r.rules.length });
  }

  // Delete chains no longer in use: the memo's, plus any the applier saw in the kernel.
  const stale = new Set<string>();
  if (previous !== undefined) for (const m of previous.services.values()) for (const c of m.chains) if (!active.has(c)) stale.add(c);
  for (const c of opts.existingNatChains ?? []) if (isServiceChainName(c) && !active.has(c)) stale.add(c);

  renderNodePortsJump(nt.services, opts, npSel, isIPv6, localhostNodePorts);
  renderForwardRules(forward, opts);

  // Top-level chains, in upstream's declaration order. On a partial sync a chain whose rules
  // are identical to the last applied ones is left out entirely (not even declared), so
  // iptables-restore leaves it untouched: a one-endpoint change then costs a few lines
  // instead of the whole KUBE-SERVICES dispatch (a step past upstream, same end state).
  const top = new Map<string, string>();
  const topFilter: Array<readonly [string, readonly string[]]> = [
    ['KUBE-SERVICES', f.services], ['KUBE-EXTERNAL-SERVICES', f.external], ['KUBE-FORWARD', forward],
    ['KUBE-NODEPORTS', f.nodePorts], ['KUBE-PROXY-FIREWALL', f.firewall],
  ];
  if (localhostNodePorts) topFilter.push(['KUBE-FIREWALL', kubeletFirewall]);
  const topNat: Array<readonly [string, readonly string[]]> = [
    ['KUBE-SERVICES', nt.services], ['KUBE-NODEPORTS', nt.nodePorts], ['KUBE-POSTROUTING', postrouting], ['KUBE-MARK-MASQ', markMasq],
  ];
  const emit = (table: string, chains: ReadonlyArray<readonly [string, readonly string[]]>, decl: string[], rules: string[]): number => {
    let count = 0;
    for (const [chain, lines] of chains) {
      const body = lines.join('\n');
      const key = `${table}/${chain}`;
      top.set(key, body);
      count += lines.length;
      if (!full && prev?.top.get(key) === body) continue;
      decl.push(`:${chain} - [0:0]`);
      if (lines.length > 0) rules.push(body);
    }
    return count;
  };
  const filterDecl: string[] = [];
  const filterRules: string[] = [];
  const filterRuleCount = emit('filter', topFilter, filterDecl, filterRules);
  const natDecl: string[] = [];
  const natRules: string[] = [];
  const natTopCount = emit('nat', topNat, natDecl, natRules);
  let natTopWritten = 0;
  for (const [chain, lines] of topNat) if (full || prev?.top.get(`nat/${chain}`) !== lines.join('\n')) natTopWritten += lines.length;
  for (const l of svcDecl) natDecl.push(l);
  for (const l of stale) natDecl.push(`:${l} - [0:0]`);
  if (svcRules.length > 0) natRules.push(svcRules.join('\n'));
  for (const l of stale) natRules.push(`-X ${l}`);

  const lines = (xs: readonly string[]): string => (xs.length > 0 ? xs.join('\n') + '\n' : '');
  const filter = `*filter\n${lines(filterDecl)}${lines(filterRules)}COMMIT\n`;
  const nat = `*nat\n${lines(natDecl)}${lines(natRules)}COMMIT\n`;
  const natRulesWritten = natTopWritten + svcRules.length;
  return {
    payload: { text: filter + nat, filter, nat },
    stats: {
      full,
      servicePorts: services.size,
      servicePortsWritten: written,
      endpoints: totalEndpoints,
      largeClusterMode,
      filterRules: filterRuleCount,
      natRulesWritten,
      natRulesTotal: natTopCount + svcRules.length + skippedRules,
      natChainsWritten: natDecl.length,
      deletedChains: stale.size,
      noLocalEndpointsInternal: ctx.noLocalEndpointsInternal,
      noLocalEndpointsExternal: ctx.noLocalEndpointsExternal,
    },
    memo: { family, optionsKey: key, services, names, top },
  };
}

function sameChains(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
