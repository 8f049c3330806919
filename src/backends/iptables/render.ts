// The pure iptables renderer: ProxyState -> one iptables-restore payload (filter + nat), in
// upstream kube-proxy's exact layout (pkg/proxy/iptables/proxier.go syncProxyRules). The
// applier ensures the jumps from built-in chains (jumps.ts) and runs
// `iptables-restore --noflush --counters` with `payload.chunks`.
//
// Two passes: this one plans every service port (its top-level lines, chain names and counts,
// all kept in the memo) and returns; the payload is a lazy iterable whose chunks are made while
// iptables-restore reads them (render-assemble.ts), the per-service chain rules last
// (render-chains.ts). So rendering overlaps the restore, and only a window of the payload text
// (a few chunks) is alive at a time instead of all 30 MB of it.
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
// Partial syncs (KEP-3453): a service port's own chains are written only when it changed (or
// the sync is full); a `:CHAIN` line flushes a chain and a chain no line mentions is left
// alone, so unchanged services keep their rules. Unchanged ports (same ServicePort and endpoint
// list objects, not flagged) are not even rendered: their top-level lines, chain names and
// counts come from the memo (render-memo.ts), so a partial sync costs O(changed ports).
// Top-level chains are written when their lines changed (render-assemble.ts). Chains that
// existed last time (memo) but not now are flushed and deleted (`:X - [0:0]` + `-X X`).
import type { IPFamily, ProxyState, ServicePortName } from '../../model/types.ts';
import { isServiceChainName } from './chain-names.ts';
import { PortNameCache } from './name-cache.ts';
import { selectNodePortAddresses, type RenderOptions } from './options.ts';
import type { RestorePayload } from './render-payload.ts';
import { chainsOf, endpointKeys, markDirty, noDirtyTop, orderedEndpoints, type RenderMemo, type ServiceMemo } from './render-memo.ts';
import { EMPTY_TOP, planServicePort, type ServiceRenderContext } from './render-service.ts';
import { assemble } from './render-assemble.ts';
import { categorizeEndpoints, externallyAccessible } from '../../model/topology.ts';

export type { RenderMemo } from './render-memo.ts';
export { RestorePayload } from './render-payload.ts';

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

export interface RenderResult {
  readonly payload: RestorePayload;
  readonly stats: RenderStats;
  readonly memo: RenderMemo;
}

function optionsKey(family: IPFamily, opts: RenderOptions, nodeName: string, topology: string): string {
  const { existingNatChains: _ignored, ...rest } = opts;
  return JSON.stringify([family, nodeName, topology, rest]);
}

export function renderRules(state: ProxyState, opts: RenderOptions, previous?: RenderMemo): RenderResult {
  const family = state.family;
  const isIPv6 = family === 'IPv6';
  const key = optionsKey(family, opts, state.node.name, JSON.stringify([state.node.zone, state.node.labels]));
  let totalEndpoints = 0;
  let sameNames = previous !== undefined && previous.services.size === state.services.size;
  for (const name of state.services.keys()) {
    totalEndpoints += state.endpoints.get(name)?.length ?? 0;
    if (sameNames && previous?.services.has(name) !== true) sameNames = false;
  }
  const largeClusterMode = totalEndpoints > opts.largeClusterEndpointsThreshold;
  const prev = previous !== undefined && previous.family === family && previous.optionsKey === key &&
    previous.largeClusterMode === largeClusterMode ? previous : undefined;
  const full = state.full || prev === undefined;
  const npSel = selectNodePortAddresses(opts, family);
  const localhostNodePorts = opts.localhostNodePorts && !isIPv6 && npSel.containsIPv4Loopback;

  const ctx: ServiceRenderContext = { opts, isIPv6, largeClusterMode, localhostNodePorts };
  const services = new Map<ServicePortName, ServiceMemo>();
  const order = sameNames && previous !== undefined ? previous.order : [...state.services.keys()].sort();
  const dirty = noDirtyTop();
  const stale = new Set<string>();
  /** Service ports whose own chains this payload writes, in order. */
  const written: ServiceMemo[] = [];
  for (const name of order) {
    const svc = state.services.get(name);
    if (svc === undefined) continue;
    const raw = state.endpoints.get(name);
    const m = previous?.services.get(name);
    if (!full && m !== undefined && m.svc === svc && m.raw === raw && !state.changedServices.has(name) && !state.changedEndpoints.has(name)) {
      services.set(name, m);
      continue;
    }
    // Same inputs under the same options give the same plan: keep the old entry (a warm full
    // render then only rewrites the port's chains), allocating no long-lived objects for it.
    if (prev !== undefined && m !== undefined && m.svc === svc && m.raw === raw) {
      services.set(name, m);
      written.push(m);
      continue;
    }
    const { ordered, strs } = m !== undefined && m.raw === raw ? { ordered: m.ordered, strs: endpointKeys(m.ordered) } : orderedEndpoints(raw);
    const cat = categorizeEndpoints(ordered, svc, state.node);
    const names = new PortNameCache(name, svc.protocol, m?.names);
    const r = planServicePort(ctx, svc, ordered, strs, cat, externallyAccessible(svc), names);
    if (!full) markDirty(dirty, m?.top ?? EMPTY_TOP, r.top);
    // Every endpoint reachable: keep the sorted list itself (usually the model's), not a copy.
    const reachable = cat.allReachableEndpoints.length === ordered.length ? ordered : cat.allReachableEndpoints;
    const entry: ServiceMemo = { svc, raw, ordered, names: names.done(reachable), ...r };
    if (m !== undefined) {
      const now = new Set(chainsOf(entry));
      for (const c of chainsOf(m)) if (!now.has(c)) stale.add(c);
    }
    services.set(name, entry);
    written.push(entry);
  }
  // Service ports gone since last time: every chain of theirs is stale.
  if (previous !== undefined && !sameNames) {
    for (const [name, m] of previous.services) {
      if (services.has(name)) continue;
      for (const c of chainsOf(m)) stale.add(c);
      if (!full) markDirty(dirty, m.top, EMPTY_TOP);
    }
  }
  // Chains the applier saw in the kernel (full syncs): delete service chains nobody owns now.
  const existing = opts.existingNatChains ?? [];
  if (existing.length > 0) {
    const active = new Set<string>();
    for (const m of services.values()) for (const c of chainsOf(m)) active.add(c);
    for (const c of existing) if (isServiceChainName(c) && !active.has(c)) stale.add(c);
  }
  return assemble({ opts, node: state.node, full, order, services, dirty, stale, written, totalEndpoints, largeClusterMode, localhostNodePorts, npSel, isIPv6, key, family });
}
