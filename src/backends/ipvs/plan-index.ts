// The ipvs plan kept between syncs, per service port, so a partial sync re-plans only the ports
// that changed (as the iptables renderer's memo does): each port's contribution (its virtual
// servers, ipset entries, addresses to bind) is stored; virtual servers record every port that
// claims them, the first by name owning it (planIpvs's rule); ipset entries and bound addresses
// are reference-counted, since two ports can add the same entry (a shared externalIP, a NodePort
// number on TCP for one and SCTP for another...). A patch returns only what it touched: the
// virtual servers to diff, and the entries and addresses that appeared or went. Host facts (node
// addresses, NodePort IPs, scheduler) are fixed per index: a full sync builds a new one. Pure.
import type { ProxyState, ServicePortName } from '../../model/types.ts';
import { IPSETS, portIpsetEntries, type IpsetEntries, type IpsetPlan, type LbNoNodeAccess } from './ipsets.ts';
import { byName, planPort, type DesiredVirtualServer, type IpvsPlanOptions } from './plan.ts';

const BOUND_SET = 'KUBE-IPVS-IPS';

interface PortRecord {
  readonly virtualServers: readonly DesiredVirtualServer[];
  /** `[set base, entry]`, KUBE-IPVS-IPS (the addresses to bind) included. */
  readonly entries: readonly (readonly [string, string])[];
  readonly lbNoNodeAccess: readonly LbNoNodeAccess[];
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
  /** `ns/name`: upstream counts Services, not ports, without local endpoints. */
  readonly service: string;
}

export interface Conflict {
  readonly key: string;
  readonly owner: ServicePortName;
  readonly loser: ServicePortName;
}

export interface PlanPatch {
  /** Virtual servers whose desired state may have changed (diff only these). */
  readonly scope: ReadonlySet<string>;
  /** Per set base: entries that appeared and went. */
  readonly ipsetDelta: ReadonlyMap<string, { readonly add: readonly string[]; readonly del: readonly string[] }>;
  /** Addresses that became wanted on kube-ipvs0, and ones no longer wanted. */
  readonly bind: readonly string[];
  readonly unbind: readonly string[];
  /** Contested virtual servers among those touched. */
  readonly conflicts: readonly Conflict[];
}

export interface IndexOptions extends IpvsPlanOptions {
  readonly family: ProxyState['family'];
}

export class PlanIndex {
  readonly #o: IndexOptions;
  readonly #ports = new Map<ServicePortName, PortRecord>();
  /** Claimants of each virtual server, sorted by owner; the first owns it. */
  readonly #claims = new Map<string, DesiredVirtualServer[]>();
  readonly #virtualServers = new Map<string, DesiredVirtualServer>();
  readonly #sets = new Map<string, Set<string>>(IPSETS.map((d) => [d.base, new Set<string>()]));
  readonly #counts = new Map<string, Map<string, number>>(IPSETS.map((d) => [d.base, new Map<string, number>()]));
  readonly #lb = new Map<ServicePortName, readonly LbNoNodeAccess[]>();
  /** `ns/name` -> ports of it without local endpoints under a Local policy. */
  readonly #noLocal = { internal: new Map<string, number>(), external: new Map<string, number>() };

  private constructor(o: IndexOptions) {
    this.#o = o;
  }

  /** Every service port of the family, in name order (so the result is planIpvs's). */
  static build(state: ProxyState, o: IndexOptions): PlanIndex {
    const index = new PlanIndex(o);
    for (const name of [...state.services.keys()].sort(byName)) index.#put(name, state, undefined, undefined);
    return index;
  }

  get virtualServers(): ReadonlyMap<string, DesiredVirtualServer> {
    return this.#virtualServers;
  }

  /** Entries per set base (every set present); KUBE-IPVS-IPS holds the addresses to bind. */
  get entries(): IpsetEntries {
    return this.#sets;
  }

  get boundAddresses(): ReadonlySet<string> {
    return this.#sets.get(BOUND_SET) ?? new Set();
  }

  get ipsetPlan(): IpsetPlan {
    const names = [...this.#lb.keys()].sort(byName);
    return { entries: this.#sets, lbNoNodeAccess: names.flatMap((n) => this.#lb.get(n) ?? []) };
  }

  /** Services (not ports, as upstream) whose Local internal/external policy finds no local endpoint. */
  get noLocalEndpoints(): { readonly internal: number; readonly external: number } {
    return { internal: this.#noLocal.internal.size, external: this.#noLocal.external.size };
  }

  /** Every contested virtual server (a full sync warns about all of them). */
  conflicts(keys: Iterable<string> = this.#claims.keys()): Conflict[] {
    const out: Conflict[] = [];
    for (const k of keys) {
      const c = this.#claims.get(k);
      const owner = c?.[0]?.owner;
      if (c === undefined || owner === undefined) continue;
      for (const l of c.slice(1)) out.push({ key: k, owner, loser: l.owner });
    }
    return out;
  }

  /** Re-plans `names` from `state` (changed, added or removed service ports). */
  update(state: ProxyState, names: Iterable<ServicePortName>): PlanPatch {
    const scope = new Set<string>();
    const before = new Map<string, Map<string, boolean>>();
    for (const name of names) this.#put(name, state, scope, before);
    for (const k of scope) {
      const owner = this.#claims.get(k)?.[0];
      if (owner === undefined) this.#virtualServers.delete(k);
      else this.#virtualServers.set(k, owner);
    }
    const ipsetDelta = new Map<string, { add: string[]; del: string[] }>();
    for (const [base, entries] of before) {
      const now = this.#sets.get(base);
      const d = { add: [] as string[], del: [] as string[] };
      for (const [e, was] of entries) {
        const is = now?.has(e) ?? false;
        if (is && !was) d.add.push(e);
        else if (!is && was) d.del.push(e);
      }
      if (d.add.length + d.del.length > 0) ipsetDelta.set(base, d);
    }
    const b = ipsetDelta.get(BOUND_SET);
    return { scope, ipsetDelta, bind: b?.add ?? [], unbind: b?.del ?? [], conflicts: this.conflicts(scope) };
  }

  /** Replaces one port's contribution; with `scope`/`before`, records what it touched. */
  #put(name: ServicePortName, state: ProxyState, scope: Set<string> | undefined, before: Map<string, Map<string, boolean>> | undefined): void {
    const old = this.#ports.get(name);
    const svc = state.services.get(name);
    const next = svc === undefined || svc.family !== this.#o.family ? undefined : this.#plan(name, state);
    if (old !== undefined) {
      for (const vs of old.virtualServers) {
        const rest = (this.#claims.get(vs.key) ?? []).filter((c) => c.owner !== name);
        if (rest.length === 0) this.#claims.delete(vs.key);
        else this.#claims.set(vs.key, rest);
        scope?.add(vs.key);
      }
      for (const [set, e] of old.entries) this.#count(set, e, -1, before);
      this.#countNoLocal(old, -1);
      this.#lb.delete(name);
      this.#ports.delete(name);
    }
    if (next === undefined) return;
    for (const vs of next.virtualServers) {
      const claims = this.#claims.get(vs.key);
      if (claims === undefined) {
        this.#claims.set(vs.key, [vs]);
        // A build (no scope) sets owners as it goes: names come in order, the first claim wins.
        if (scope === undefined) this.#virtualServers.set(vs.key, vs);
      } else {
        let i = claims.findIndex((c) => byName(c.owner, name) > 0);
        if (i < 0) i = claims.length;
        claims.splice(i, 0, vs);
      }
      scope?.add(vs.key);
    }
    for (const [set, e] of next.entries) this.#count(set, e, 1, before);
    this.#countNoLocal(next, 1);
    if (next.lbNoNodeAccess.length > 0) this.#lb.set(name, next.lbNoNodeAccess);
    this.#ports.set(name, next);
  }

  #plan(name: ServicePortName, state: ProxyState): PortRecord {
    const svc = state.services.get(name);
    if (svc === undefined) throw new Error(`unreachable: no service port ${name}`);
    const eps = state.endpoints.get(name) ?? [];
    const vs = planPort(name, svc, eps, state.node, this.#o);
    const sets = portIpsetEntries(svc, eps, this.#o.nodePortIPs);
    const entries = vs.bound.length === 0 ? sets.entries : [...sets.entries, ...vs.bound.map((a) => [BOUND_SET, a] as const)];
    return {
      virtualServers: vs.virtualServers, entries, lbNoNodeAccess: sets.lbNoNodeAccess,
      noLocalInternal: vs.noLocalInternal, noLocalExternal: vs.noLocalExternal, service: `${svc.namespace}/${svc.serviceName}`,
    };
  }

  #countNoLocal(r: PortRecord, by: 1 | -1): void {
    if (r.noLocalInternal) bump(this.#noLocal.internal, r.service, by);
    if (r.noLocalExternal) bump(this.#noLocal.external, r.service, by);
  }

  #count(set: string, entry: string, by: 1 | -1, before: Map<string, Map<string, boolean>> | undefined): void {
    const counts = this.#counts.get(set);
    const present = this.#sets.get(set);
    if (counts === undefined || present === undefined) throw new Error(`unreachable: no ipset ${set}`);
    if (before !== undefined) {
      let b = before.get(set);
      if (b === undefined) before.set(set, (b = new Map()));
      if (!b.has(entry)) b.set(entry, present.has(entry));
    }
    const n = (counts.get(entry) ?? 0) + by;
    if (n > 0) {
      counts.set(entry, n);
      present.add(entry);
    } else {
      counts.delete(entry);
      present.delete(entry);
    }
  }
}

function bump(m: Map<string, number>, key: string, by: 1 | -1): void {
  const n = (m.get(key) ?? 0) + by;
  if (n > 0) m.set(key, n);
  else m.delete(key);
}
