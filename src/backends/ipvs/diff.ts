// desired (plan.ts) vs what the kernel has → the fewest IPVS operations and kube-ipvs0 address
// changes. Never a flush: a virtual server that should stay is edited in place (SET_SERVICE keeps
// the VIP up), and real servers leave gracefully as upstream's graceful_termination.go does: a
// removed TCP real server with connections goes to weight 0 and stays on the pending list until
// its active+inactive connections reach 0; UDP/SCTP ones, and any without connections, are deleted
// at once (expire_nodest_conn=1 resets their flows). A desired real server found at weight 0 (a
// pending one that came back, or a restart that left one quiesced: kubernetes#92019) is set back
// to weight 1. Virtual servers not wanted are deleted (upstream cleanLegacyService), except inside
// --ipvs-exclude-cidrs. Pure.
import type { IpvsDestination, IpvsService, IpvsServiceKey } from '../../netlink/ipvs.ts';
import type { IpvsOp } from '../../system/ipvs-client.ts';
import { destinationKey, serviceKey } from './plan.ts';
import type { DesiredVirtualServer } from './plan.ts';

/** A real server as dumped (IpvsDestinationInfo's fields the diff needs). */
export interface KernelDestination extends IpvsDestination {
  readonly activeConns: number;
  readonly inactiveConns: number;
}

export interface KernelVirtualServer {
  readonly service: IpvsService;
  readonly destinations: readonly KernelDestination[];
}

/** The kernel's virtual servers of this family by serviceKey. */
export type KernelServers = ReadonlyMap<string, KernelVirtualServer>;

export interface PendingDeletion {
  readonly service: IpvsServiceKey;
  readonly destination: { readonly address: string; readonly port: number };
  /** When it was quiesced (ms), for logs. */
  readonly since: number;
}

/** `${serviceKey}>${destinationKey}` → entry. */
export type PendingList = ReadonlyMap<string, PendingDeletion>;

export const pendingKey = (svc: string, dest: string): string => `${svc}>${dest}`;

export interface DiffInput {
  readonly plan: { readonly virtualServers: ReadonlyMap<string, DesiredVirtualServer> };
  readonly kernel: KernelServers;
  readonly pending: PendingList;
  /** Only these virtual servers are considered (a partial sync); undefined: all. */
  readonly scope?: ReadonlySet<string>;
  /** True when an address lies in --ipvs-exclude-cidrs (never deleted). */
  readonly excluded: (address: string) => boolean;
  readonly now: number;
}

export interface IpvsDiff {
  readonly ops: IpvsOp[];
  readonly pending: Map<string, PendingDeletion>;
  /** Real servers newly quiesced this round (for the log). */
  readonly quiesced: number;
}

const sameService = (a: IpvsService, b: IpvsService): boolean =>
  a.scheduler === b.scheduler && a.flags === b.flags && a.timeout === b.timeout && a.prefixLength === b.prefixLength;

const sameDestination = (a: IpvsDestination, b: IpvsDestination): boolean =>
  a.weight === b.weight && a.forward === b.forward && a.upperThreshold === b.upperThreshold && a.lowerThreshold === b.lowerThreshold;

/** Upstream IsRsGracefulTerminationNeeded: only TCP waits; UDP and SCTP go at once. */
const needsGrace = (svc: IpvsServiceKey, d: KernelDestination): boolean =>
  svc.protocol === 'TCP' && d.activeConns + d.inactiveConns > 0;

export function diffIpvs(input: DiffInput): IpvsDiff {
  const { plan, kernel, scope } = input;
  const ops: IpvsOp[] = [];
  const pending = new Map(input.pending);
  let quiesced = 0;

  const retire = (svcKey: string, service: IpvsServiceKey, d: KernelDestination): void => {
    const pk = pendingKey(svcKey, destinationKey(d));
    if (!needsGrace(service, d)) {
      ops.push({ op: 'deleteDestination', service, destination: { address: d.address, port: d.port } });
      pending.delete(pk);
      return;
    }
    if (d.weight !== 0) {
      ops.push({ op: 'updateDestination', service, destination: { ...d, weight: 0 } });
      quiesced++;
    }
    if (!pending.has(pk)) pending.set(pk, { service, destination: { address: d.address, port: d.port }, since: input.now });
  };

  const wanted = (key: string, want: DesiredVirtualServer): void => {
    const have = kernel.get(key);
    if (have === undefined) {
      ops.push({ op: 'addService', service: want.service });
      for (const d of want.destinations.values()) ops.push({ op: 'addDestination', service: want.service, destination: d });
      return;
    }
    if (!sameService(want.service, have.service)) ops.push({ op: 'updateService', service: want.service });
    syncDestinations(key, want, have, ops, pending, retire);
  };
  const unwanted = (key: string, have: KernelVirtualServer): void => {
    if (plan.virtualServers.has(key) || input.excluded(have.service.address)) return;
    ops.push({ op: 'deleteService', service: keyOf(have.service) });
    for (const pk of [...pending.keys()]) if (pk.startsWith(`${key}>`)) pending.delete(pk);
  };
  // A scope (partial sync) is walked itself, not the whole plan and kernel: O(changed) work.
  // Either way additions and edits come before deletions.
  if (scope === undefined) {
    for (const [key, want] of plan.virtualServers) wanted(key, want);
    for (const [key, have] of kernel) unwanted(key, have);
  } else {
    for (const key of scope) {
      const want = plan.virtualServers.get(key);
      if (want !== undefined) wanted(key, want);
    }
    for (const key of scope) {
      const have = kernel.get(key);
      if (have !== undefined) unwanted(key, have);
    }
  }
  return { ops, pending, quiesced };
}

function syncDestinations(
  key: string,
  want: DesiredVirtualServer,
  have: KernelVirtualServer,
  ops: IpvsOp[],
  pending: Map<string, PendingDeletion>,
  retire: (svcKey: string, service: IpvsServiceKey, d: KernelDestination) => void,
): void {
  const current = new Map<string, KernelDestination>();
  for (const d of have.destinations) current.set(destinationKey(d), d);
  const service = keyOf(want.service);
  for (const [dk, d] of want.destinations) {
    const cur = current.get(dk);
    if (cur === undefined) ops.push({ op: 'addDestination', service, destination: d });
    else if (!sameDestination(cur, d)) ops.push({ op: 'updateDestination', service, destination: d });
    pending.delete(pendingKey(key, dk));
  }
  for (const [dk, d] of current) if (!want.destinations.has(dk)) retire(key, service, d);
}

export const keyOf = (s: IpvsServiceKey): IpvsServiceKey => ({ family: s.family, protocol: s.protocol, address: s.address, port: s.port });

/**
 * The graceful-termination recheck (upstream gracefulTerminationManager.tryDeleteRs, every
 * minute): for each pending real server, `lookup` gives its fresh counters (undefined when the
 * virtual or real server is gone). Returns the deletions to send and the list that remains.
 */
export function recheckPending(
  pending: PendingList,
  lookup: (p: PendingDeletion) => KernelDestination | undefined,
): { ops: IpvsOp[]; pending: Map<string, PendingDeletion> } {
  const ops: IpvsOp[] = [];
  const remaining = new Map<string, PendingDeletion>();
  for (const [k, p] of pending) {
    const d = lookup(p);
    if (d === undefined) continue;
    // Someone (a later sync) put it back in service: not ours to delete any more.
    if (d.weight !== 0) continue;
    if (needsGrace(p.service, d)) remaining.set(k, p);
    else ops.push({ op: 'deleteDestination', service: p.service, destination: p.destination });
  }
  return { ops, pending: remaining };
}

/** Address changes on kube-ipvs0; `scope` limits deletions to the family, exclusions kept. */
export function diffAddresses(
  want: ReadonlySet<string>,
  have: ReadonlySet<string>,
  excluded: (address: string) => boolean,
): { add: string[]; remove: string[] } {
  const add = [...want].filter((a) => !have.has(a)).sort();
  const remove = [...have].filter((a) => !want.has(a) && !excluded(a)).sort();
  return { add, remove };
}

/** The kernel model after `ops` succeeded (kept between syncs so a partial sync needs no full dump). */
export function applyOpsToModel(kernel: KernelServers, ops: readonly IpvsOp[]): Map<string, KernelVirtualServer> {
  return applyOpsInPlace(new Map(kernel), ops);
}

/** applyOpsToModel editing `out` itself (a partial sync: no copy of every virtual server). */
export function applyOpsInPlace(out: Map<string, KernelVirtualServer>, ops: readonly IpvsOp[]): Map<string, KernelVirtualServer> {
  const dests = (k: string): Map<string, KernelDestination> =>
    new Map((out.get(k)?.destinations ?? []).map((d) => [destinationKey(d), d]));
  for (const o of ops) {
    const k = serviceKey(o.service);
    switch (o.op) {
      case 'addService':
      case 'updateService':
        out.set(k, { service: o.service, destinations: out.get(k)?.destinations ?? [] });
        break;
      case 'deleteService':
        out.delete(k);
        break;
      case 'addDestination':
      case 'updateDestination': {
        const vs = out.get(k);
        if (vs === undefined) break;
        const m = dests(k);
        const prev = m.get(destinationKey(o.destination));
        m.set(destinationKey(o.destination), { ...o.destination, activeConns: prev?.activeConns ?? 0, inactiveConns: prev?.inactiveConns ?? 0 });
        out.set(k, { service: vs.service, destinations: [...m.values()] });
        break;
      }
      case 'deleteDestination': {
        const vs = out.get(k);
        if (vs === undefined) break;
        const m = dests(k);
        m.delete(destinationKey(o.destination));
        out.set(k, { service: vs.service, destinations: [...m.values()] });
        break;
      }
    }
  }
  return out;
}
