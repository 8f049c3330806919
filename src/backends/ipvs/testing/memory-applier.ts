// An IpvsApplier that keeps the kernel in memory, for unit tests and CPU profiling of the proxier:
// IPVS virtual and real servers (with connection counters a test can set), kube-ipvs0's addresses,
// ipsets as an `ipset restore -exist` script leaves them, and the last iptables-restore payload.
// It answers as the kernel does where the proxier cares: an existing add is EEXIST (benign, so
// tolerated like the real applier), a change to a missing virtual server fails. Pure.
import { NetlinkError } from '../../../errors.ts';
import type { IpvsServiceKey } from '../../../netlink/ipvs.ts';
import type { IPFamily } from '../../../model/types.ts';
import type { IpvsOp, IpvsOpResult } from '../../../system/ipvs-client.ts';
import { describeOp } from '../../../system/ipvs-client.ts';
import type { JumpRule } from '../../common/jump-rule.ts';
import type { KernelDestination, KernelVirtualServer } from '../diff.ts';
import type { ApplierStats, HostAddresses, IpvsApplier } from '../ipvs-applier.ts';
import { destinationKey, serviceKey } from '../plan.ts';

const ERRNO: Readonly<Record<string, number>> = { ENOENT: 2, ESRCH: 3, EIO: 5 };

interface Vs {
  service: KernelVirtualServer['service'];
  dests: Map<string, KernelDestination>;
}

export interface MemoryKernel {
  /** serviceKey → its service and real servers (sorted by destinationKey), for comparisons. */
  readonly ipvs: Map<string, { service: KernelVirtualServer['service']; destinations: KernelDestination[] }>;
  readonly bound: string[];
  /** set name → sorted entries. */
  readonly ipsets: Map<string, string[]>;
}

export class MemoryApplier implements IpvsApplier {
  readonly family: IPFamily;
  readonly stats: ApplierStats = { ipvsChanges: 0, ipvsDumps: 0 };
  readonly vs = new Map<string, Vs>();
  readonly bound = new Set<string>();
  readonly sets = new Map<string, Set<string>>();
  nodeAddresses: string[];
  rules: string | undefined;
  rulesWrites = 0;
  ipsetScripts: string[] = [];
  jumpChecks = 0;
  /** Ops for which this returns true fail with EIO (injected failures). */
  failOp: (op: IpvsOp) => boolean = () => false;
  failIpset = false;
  failRules = false;

  constructor(family: IPFamily, nodeAddresses: string[] = []) {
    this.family = family;
    this.nodeAddresses = nodeAddresses;
  }

  /** Sets a real server's connection counters, as traffic would. */
  setConns(svcKey: string, destKey: string, activeConns: number, inactiveConns = 0): void {
    const d = this.vs.get(svcKey)?.dests.get(destKey);
    if (d === undefined) throw new Error(`no real server ${svcKey}>${destKey}`);
    this.vs.get(svcKey)?.dests.set(destKey, { ...d, activeConns, inactiveConns });
  }

  snapshot(): MemoryKernel {
    const ipvs = new Map<string, { service: KernelVirtualServer['service']; destinations: KernelDestination[] }>();
    for (const k of [...this.vs.keys()].sort()) {
      const v = this.vs.get(k);
      if (v === undefined) continue;
      ipvs.set(k, { service: v.service, destinations: [...v.dests.keys()].sort().flatMap((dk) => v.dests.get(dk) ?? []) });
    }
    const ipsets = new Map<string, string[]>();
    for (const n of [...this.sets.keys()].sort()) ipsets.set(n, [...(this.sets.get(n) ?? [])].sort());
    return { ipvs, bound: [...this.bound].sort(), ipsets };
  }

  async readKernel(): Promise<Map<string, KernelVirtualServer>> {
    this.stats.ipvsDumps += 1 + this.vs.size;
    const fam = this.family;
    const out = new Map<string, KernelVirtualServer>();
    for (const [k, v] of this.vs) if (v.service.family === fam) out.set(k, { service: v.service, destinations: [...v.dests.values()] });
    return out;
  }

  async readDestinations(services: readonly IpvsServiceKey[]): Promise<Map<string, KernelDestination[]>> {
    const out = new Map<string, KernelDestination[]>();
    for (const s of services) {
      this.stats.ipvsDumps++;
      out.set(serviceKey(s), [...(this.vs.get(serviceKey(s))?.dests.values() ?? [])]);
    }
    return out;
  }

  async applyIpvs(ops: readonly IpvsOp[]): Promise<IpvsOpResult[]> {
    this.stats.ipvsChanges += ops.length;
    return ops.map((op) => ({ op, error: this.#apply(op) }));
  }

  #apply(op: IpvsOp): NetlinkError | null {
    const err = (name: string): NetlinkError => new NetlinkError(`ipvs: ${describeOp(op)}`, ERRNO[name] ?? 5, name);
    if (this.failOp(op)) return err('EIO');
    const k = serviceKey(op.service);
    const vs = this.vs.get(k);
    switch (op.op) {
      case 'addService':
        if (vs === undefined) this.vs.set(k, { service: op.service, dests: new Map() });
        return null; // EEXIST is benign
      case 'updateService':
        if (vs === undefined) return err('ESRCH');
        vs.service = op.service;
        return null;
      case 'deleteService':
        this.vs.delete(k);
        return null; // ESRCH is benign
      case 'addDestination':
      case 'updateDestination': {
        if (vs === undefined) return err('ESRCH');
        const dk = destinationKey(op.destination);
        const prev = vs.dests.get(dk);
        if (op.op === 'updateDestination' && prev === undefined) return err('ENOENT');
        if (op.op === 'addDestination' && prev !== undefined) return null; // EEXIST is benign
        vs.dests.set(dk, { ...op.destination, activeConns: prev?.activeConns ?? 0, inactiveConns: prev?.inactiveConns ?? 0 });
        return null;
      }
      case 'deleteDestination':
        vs?.dests.delete(destinationKey(op.destination));
        return null;
    }
  }

  async readAddresses(): Promise<HostAddresses> {
    return { bound: [...this.bound], node: [...this.nodeAddresses] };
  }

  async changeAddresses(add: readonly string[], remove: readonly string[]): Promise<Error[]> {
    for (const a of add) this.bound.add(a);
    for (const a of remove) this.bound.delete(a);
    return [];
  }

  async restoreIpsets(script: string): Promise<void> {
    if (this.failIpset) throw new Error('ipset restore: injected failure');
    this.ipsetScripts.push(script);
    const set = (n: string): Set<string> => {
      let s = this.sets.get(n);
      if (s === undefined) this.sets.set(n, (s = new Set()));
      return s;
    };
    for (const line of script.split('\n')) {
      const [verb = '', name = '', ...rest] = line.split(' ');
      if (verb === 'create') set(name);
      else if (verb === 'flush') set(name).clear();
      else if (verb === 'add') set(name).add(rest[0] ?? '');
      else if (verb === 'del') set(name).delete(rest[0] ?? '');
      else if (verb === 'destroy') this.sets.delete(name);
      else if (verb === 'swap') {
        const a = set(name);
        const b = set(rest[0] ?? '');
        this.sets.set(name, b);
        this.sets.set(rest[0] ?? '', a);
      } else if (verb !== '') throw new Error(`ipset restore: unknown line ${line}`);
    }
  }

  async ensureJumps(jumps: readonly JumpRule[]): Promise<void> {
    this.jumpChecks += jumps.length;
  }

  async restoreRules(payload: string): Promise<void> {
    if (this.failRules) throw new Error('iptables-restore: injected failure');
    this.rules = payload;
    this.rulesWrites++;
  }

  async cleanup(): Promise<void> {
    this.vs.clear();
    this.bound.clear();
    this.sets.clear();
    this.rules = undefined;
  }

  async hasLeftovers(): Promise<boolean> {
    return this.vs.size > 0 || this.bound.size > 0 || this.sets.size > 0;
  }

  close(): void {
    // Nothing to release: no sockets.
  }
}
