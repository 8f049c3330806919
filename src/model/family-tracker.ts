// The desired state of one IP family plus its change tracking: what upstream splits into
// ServiceChangeTracker / EndpointsChangeTracker and the proxier's svcPortMap / endpointsMap
// (pkg/proxy/servicechangetracker.go, endpointschangetracker.go). Every change gets a sequence
// number; a snapshot carries the number it was taken at, and committing it clears only the
// changes up to that number, so changes that arrive while a sync runs stay pending and a failed
// sync (never committed) leaves everything pending.
import { deepEqual } from './deep-equal.ts';
import { endpointString } from './endpoint.ts';
import type { Endpoint, IPFamily, NodeInfo, ProxyState, ServicePort, ServicePortName } from './types.ts';

export interface StateSnapshot extends ProxyState {
  /** The change sequence number this snapshot includes. */
  readonly generation: number;
  /**
   * When the changes in this snapshot happened (ms since the epoch): the EndpointSlice
   * controller's trigger time when known, else when kube-proxy saw them. The runner observes
   * `now - t` after a successful sync as network_programming_duration_seconds.
   */
  readonly changeTimes: readonly number[];
}

interface Pending {
  seq: number;
  /** When this entry first became pending (for the oldest-unsynced-change age). */
  readonly since: number;
  /** Latest trigger time among the changes folded into this entry. */
  trigger: number;
}

const EMPTY: readonly Endpoint[] = Object.freeze([]);

export class FamilyTracker {
  readonly family: IPFamily;
  readonly #services = new Map<ServicePortName, ServicePort>();
  readonly #endpoints = new Map<ServicePortName, readonly Endpoint[]>();
  readonly #committedServices = new Map<ServicePortName, ServicePort>();
  readonly #committedEndpoints = new Map<ServicePortName, readonly Endpoint[]>();
  readonly #pendingServices = new Map<ServicePortName, Pending>();
  readonly #pendingEndpoints = new Map<ServicePortName, Pending>();
  /** A change that needs everything rewritten: the Node (topology) or the ServiceCIDRs. */
  #nodeChange: Pending | undefined;
  /** The ServiceCIDRs of this family, sorted (what the nftables mode rejects unallocated IPs of). */
  #serviceCIDRs: readonly string[] = [];
  #committedGeneration = -1;
  // Frozen copies handed to snapshots, rebuilt only after a change (keeps idle snapshots O(1)).
  #servicesView: ReadonlyMap<ServicePortName, ServicePort> | undefined;
  #endpointsView: ReadonlyMap<ServicePortName, readonly Endpoint[]> | undefined;

  constructor(family: IPFamily) {
    this.family = family;
  }

  /** Set (or with undefined, delete) one service port; returns whether anything changed. */
  setService(spn: ServicePortName, port: ServicePort | undefined, seq: number, now: number): boolean {
    const old = this.#services.get(spn);
    if (deepEqual(old, port)) return false;
    if (port === undefined) this.#services.delete(spn);
    else this.#services.set(spn, port);
    this.#servicesView = undefined;
    mark(this.#pendingServices, spn, seq, now, now);
    return true;
  }

  /** Set one port's endpoint list (empty deletes it); returns whether anything changed. */
  setEndpoints(spn: ServicePortName, eps: readonly Endpoint[], seq: number, now: number, trigger: number): boolean {
    const old = this.#endpoints.get(spn) ?? EMPTY;
    if (deepEqual(old, eps)) return false;
    if (eps.length === 0) this.#endpoints.delete(spn);
    else this.#endpoints.set(spn, eps);
    this.#endpointsView = undefined;
    mark(this.#pendingEndpoints, spn, seq, now, trigger);
    return true;
  }

  endpointsOf(spn: ServicePortName): readonly Endpoint[] {
    return this.#endpoints.get(spn) ?? EMPTY;
  }

  /** The node changed (zone, labels …): topology may pick other endpoints everywhere. */
  markNode(seq: number, now: number): void {
    if (this.#nodeChange === undefined) this.#nodeChange = { seq, since: now, trigger: now };
    else this.#nodeChange.seq = seq;
  }

  /** Set this family's ServiceCIDRs (sorted); a change makes the next sync full. */
  setServiceCIDRs(cidrs: readonly string[], seq: number, now: number): boolean {
    if (deepEqual(this.#serviceCIDRs, cidrs)) return false;
    this.#serviceCIDRs = cidrs;
    this.markNode(seq, now);
    return true;
  }

  get pendingServices(): ReadonlySet<ServicePortName> {
    return new Set(this.#pendingServices.keys());
  }

  get pendingEndpoints(): ReadonlySet<ServicePortName> {
    return new Set(this.#pendingEndpoints.keys());
  }

  get pendingCount(): { services: number; endpoints: number } {
    return { services: this.#pendingServices.size, endpoints: this.#pendingEndpoints.size };
  }

  /** When the oldest change not yet committed was seen; undefined when none is pending. */
  oldestPending(): number | undefined {
    let oldest: number | undefined = this.#nodeChange?.since;
    for (const m of [this.#pendingServices, this.#pendingEndpoints]) {
      for (const p of m.values()) if (oldest === undefined || p.since < oldest) oldest = p.since;
    }
    return oldest;
  }

  snapshot(generation: number, node: NodeInfo, full: boolean): StateSnapshot {
    this.#servicesView ??= new Map(this.#services);
    this.#endpointsView ??= new Map(this.#endpoints);
    const changedServices = new Set(this.#pendingServices.keys());
    const changedEndpoints = new Set(this.#pendingEndpoints.keys());
    const removedEndpoints = new Map<ServicePortName, readonly Endpoint[]>();
    for (const spn of changedEndpoints) {
      const gone = staleEndpoints(this.#committedEndpoints.get(spn) ?? EMPTY, this.#endpoints.get(spn) ?? EMPTY);
      if (gone.length > 0) removedEndpoints.set(spn, gone);
    }
    const removedServices = new Map<ServicePortName, ServicePort>();
    for (const spn of changedServices) {
      const before = this.#committedServices.get(spn);
      if (before !== undefined && !this.#services.has(spn)) removedServices.set(spn, before);
    }
    const changeTimes = [...this.#pendingEndpoints.values(), ...this.#pendingServices.values()].map((p) => p.trigger);
    return {
      family: this.family,
      services: this.#servicesView,
      endpoints: this.#endpointsView,
      node,
      serviceCIDRs: this.#serviceCIDRs,
      changedServices,
      changedEndpoints,
      removedEndpoints,
      removedServices,
      // The first sync, a node change (topology) and a ServiceCIDR change need everything rewritten.
      full: full || this.#committedGeneration < 0 || this.#nodeChange !== undefined,
      generation,
      changeTimes,
    };
  }

  /** Record that `snap` was programmed: clear the changes it contained, nothing newer. */
  commit(snap: StateSnapshot): void {
    if (snap.generation < this.#committedGeneration) return;
    this.#committedGeneration = snap.generation;
    for (const spn of snap.changedServices) {
      const now = snap.services.get(spn);
      if (now === undefined) this.#committedServices.delete(spn);
      else this.#committedServices.set(spn, now);
      const p = this.#pendingServices.get(spn);
      if (p !== undefined && p.seq <= snap.generation) this.#pendingServices.delete(spn);
    }
    for (const spn of snap.changedEndpoints) {
      const now = snap.endpoints.get(spn);
      if (now === undefined) this.#committedEndpoints.delete(spn);
      else this.#committedEndpoints.set(spn, now);
      const p = this.#pendingEndpoints.get(spn);
      if (p !== undefined && p.seq <= snap.generation) this.#pendingEndpoints.delete(spn);
    }
    if (this.#nodeChange !== undefined && this.#nodeChange.seq <= snap.generation) this.#nodeChange = undefined;
  }
}

function mark(m: Map<ServicePortName, Pending>, spn: ServicePortName, seq: number, now: number, trigger: number): void {
  const p = m.get(spn);
  if (p === undefined) m.set(spn, { seq, since: now, trigger });
  else {
    p.seq = seq;
    p.trigger = Math.max(p.trigger, trigger);
  }
}

/**
 * Endpoints that were serving at the last commit and now are gone or no longer serving: their
 * UDP conntrack entries are stale (upstream detectStaleConntrackEntries).
 */
function staleEndpoints(before: readonly Endpoint[], after: readonly Endpoint[]): Endpoint[] {
  if (before.length === 0) return [];
  const servingNow = new Set(after.filter((e) => e.serving).map(endpointString));
  return before.filter((e) => e.serving && !servingNow.has(endpointString(e)));
}
