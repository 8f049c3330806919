// The ipvs mode's only contact with the kernel (the proxier and planners are pure): IPVS over
// generic netlink (IpvsClient: one service dump, one destination dump per virtual server, batched
// changes), kube-ipvs0 and its addresses over rtnetlink (LinkClient), one `ipset restore -exist`,
// one `iptables-restore --noflush --counters` plus the jump rules (the iptables mode's applier).
// A dry-run applier with the same shape prints instead (--dry-run).
import type { IpvsServiceKey } from '../../netlink/ipvs.ts';
import type { Logger } from '../../model/logger.ts';
import type { IPFamily } from '../../model/types.ts';
import type { Exec } from '../../system/exec.ts';
import type { Iptables } from '../../system/iptables.ts';
import { createIpset, type Ipset } from '../../system/ipset.ts';
import { describeOp } from '../../system/ipvs-client.ts';
import type { IpvsClient, IpvsOp, IpvsOpResult } from '../../system/ipvs-client.ts';
import type { LinkClient } from '../../system/link-client.ts';
import { withProbedBuiltins } from '../common/io/ensure-builtins.ts';
import { createIptablesApplier } from '../common/iptables-rules-applier.ts';
import { argsToRestore, type JumpRule } from '../common/jump-rule.ts';
import type { KernelDestination, KernelVirtualServer } from './diff.ts';
import { allSetNames } from './ipsets.ts';
import { serviceKey } from './plan.ts';

export const DUMMY_DEVICE = 'kube-ipvs0';

export interface HostAddresses {
  /** Addresses of the family on kube-ipvs0. */
  readonly bound: readonly string[];
  /** Addresses of the family on every other link. */
  readonly node: readonly string[];
}

/** What went over netlink since creation (the bench and tests read it). */
export interface ApplierStats {
  /** IPVS change requests (NEW/SET/DEL_SERVICE/DEST). */
  ipvsChanges: number;
  /** IPVS dump requests (GET_SERVICE, GET_DEST). */
  ipvsDumps: number;
}

export interface IpvsApplier {
  readonly family: IPFamily;
  readonly stats: ApplierStats;
  /** Every virtual server of the family and its real servers. */
  readKernel(): Promise<Map<string, KernelVirtualServer>>;
  /** Fresh real servers (with connection counts) of some virtual servers, by serviceKey. */
  readDestinations(services: readonly IpvsServiceKey[]): Promise<Map<string, KernelDestination[]>>;
  applyIpvs(ops: readonly IpvsOp[]): Promise<IpvsOpResult[]>;
  /** Creates kube-ipvs0 if missing (left down, as upstream) and reads the addresses. */
  readAddresses(): Promise<HostAddresses>;
  /** Per-address failures (an address already in the wanted state is not one). */
  changeAddresses(add: readonly string[], remove: readonly string[]): Promise<Error[]>;
  restoreIpsets(script: string): Promise<void>;
  ensureJumps(jumps: readonly JumpRule[]): Promise<void>;
  restoreRules(payload: string): Promise<void>;
  /**
   * --cleanup: our virtual servers, kube-ipvs0, our chains and jumps, then our ipsets. Another
   * mode's start passes `removeRules` to remove only the ipvs mode's chains, not its own.
   */
  cleanup(removeRules?: () => Promise<void>): Promise<void>;
  /**
   * Whether this family has ipvs-mode state to clean up: kube-ipvs0 or one of its KUBE ipsets. Not
   * the link alone: in dual-stack the first family's clean-up may have removed the shared link.
   */
  hasLeftovers(): Promise<boolean>;
  close(): void;
}

export interface IpvsApplierDeps {
  readonly family: IPFamily;
  readonly ipvs: IpvsClient;
  readonly links: LinkClient;
  readonly iptables: Iptables;
  readonly exec: Exec;
  readonly logger: Logger;
}

export function createIpvsApplier(d: IpvsApplierDeps): IpvsApplier {
  const fam: IPFamily = d.family;
  // Jumps ensured as every mode ensures them (common/io/ensure-builtins.ts); no canaries in ipvs mode.
  const rules = withProbedBuiltins(createIptablesApplier(d.iptables), d.iptables, []);
  const ipset = createIpset(d.exec);
  const stats: ApplierStats = { ipvsChanges: 0, ipvsDumps: 0 };
  const dests = async (svc: IpvsServiceKey): Promise<KernelDestination[]> => {
    stats.ipvsDumps++;
    return d.ipvs.listDestinations(svc);
  };
  const readAddresses = async (): Promise<HostAddresses> => {
    const link = await d.links.ensureDummyLink(DUMMY_DEVICE);
    const all = await d.links.listAllAddresses(fam);
    return { bound: all.filter((a) => a.index === link.index).map((a) => a.address), node: all.filter((a) => a.index !== link.index).map((a) => a.address) };
  };
  return {
    family: d.family,
    stats,
    async readKernel() {
      stats.ipvsDumps++;
      const out = new Map<string, KernelVirtualServer>();
      for (const s of await d.ipvs.listServices()) {
        // Firewall-mark services are never ours; other-family ones belong to the other proxier.
        if (s.family !== fam || s.fwmark !== undefined) continue;
        out.set(serviceKey(s), { service: s, destinations: await dests(s) });
      }
      return out;
    },
    async readDestinations(services) {
      const out = new Map<string, KernelDestination[]>();
      for (const s of services) out.set(serviceKey(s), await dests(s));
      return out;
    },
    async applyIpvs(ops) {
      if (ops.length === 0) return [];
      stats.ipvsChanges += ops.length;
      return d.ipvs.apply(ops, { tolerateBenign: true });
    },
    readAddresses,
    async changeAddresses(add, remove) {
      const link = await d.links.ensureDummyLink(DUMMY_DEVICE);
      const errors: Error[] = [];
      if (add.length > 0) for (const r of await d.links.addAddresses(link, add)) if (r.error) errors.push(r.error);
      if (remove.length > 0) for (const r of await d.links.deleteAddresses(link, remove)) if (r.error) errors.push(r.error);
      return errors;
    },
    async restoreIpsets(script) {
      await ipset.restore(script);
    },
    ensureJumps: (jumps) => rules.ensureJumps(jumps),
    restoreRules: (payload) => rules.restore(payload),
    async cleanup(removeRules) {
      // Not ensureDummyLink: a clean-up must not create kube-ipvs0 (the other family's may have removed it).
      const link = await d.links.getLink(DUMMY_DEVICE);
      const onLink = link === null ? [] : await d.links.listAddresses(link.index);
      const bound = onLink.filter((a) => a.family === fam).map((a) => a.address);
      const ours = new Set(bound);
      const ops: IpvsOp[] = [];
      // Ours: virtual servers on kube-ipvs0's addresses, and NodePort ones (a port in our sets on
      // a node address). Upstream flushes every IPVS service on --cleanup; we spare foreign ones.
      const nodePorts = await nodePortEntries(ipset, d.family);
      for (const s of await d.ipvs.listServices()) {
        if (s.family !== fam || s.fwmark !== undefined) continue;
        if (ours.has(s.address) || nodePorts.has(`${s.protocol.toLowerCase()}:${s.port}`)) ops.push({ op: 'deleteService', service: s });
      }
      for (const r of await d.ipvs.apply(ops, { tolerateBenign: true })) if (r.error) d.logger.error({ err: r.error, op: describeOp(r.op) }, 'ipvs clean-up step failed');
      // Dual-stack: kube-ipvs0 is shared with the other family's proxier, so it goes only with the
      // last family's addresses (upstream deletes it in CleanupLeftovers, once for both families).
      const shared = onLink.some((a) => a.family !== fam && !a.address.toLowerCase().startsWith('fe80:'));
      if (link !== null && shared) {
        for (const r of await d.links.deleteAddresses(link, bound)) if (r.error) d.logger.error({ err: r.error }, 'ipvs clean-up: unbind address failed');
      } else if (link !== null) await d.links.deleteLink(DUMMY_DEVICE);
      // Chains before sets: a set referenced by a rule cannot be destroyed.
      await (removeRules ?? (() => rules.cleanup()))();
      // Only the sets that exist: one `ipset list -n` instead of a failing destroy per absent set.
      const present = await ipset.listNames();
      for (const name of allSetNames(d.family).filter((n) => present === null || present.has(n))) {
        try {
          await ipset.destroy(name);
        } catch (err) {
          d.logger.error({ err, set: name }, 'ipset destroy failed');
        }
      }
    },
    async hasLeftovers() {
      if ((await d.links.getLink(DUMMY_DEVICE)) !== null) return true;
      const present = await ipset.listNames();
      // No ipset binary or no ip_set module: no sets of ours either.
      return present !== null && allSetNames(d.family).some((n) => present.has(n));
    },
    close() {
      d.ipvs.close();
      d.links.close();
    },
  };
}

/** `proto:port` of the NodePort sets (bitmaps hold ports; the SCTP hash holds ip,sctp:port). */
async function nodePortEntries(ipset: Ipset, family: IPFamily): Promise<Set<string>> {
  const out = new Set<string>();
  const sets: [string, string][] = [['KUBE-NODE-PORT-TCP', 'tcp'], ['KUBE-NODE-PORT-UDP', 'udp'], ['KUBE-NODE-PORT-SCTP-HASH', 'sctp']];
  for (const [base, proto] of sets) {
    const name = allSetNames(family).find((n) => n.endsWith(base.slice(5)));
    if (name === undefined) continue;
    const text = await ipset.save(name);
    if (text === null) continue; // the set does not exist: no NodePorts of ours
    for (const line of text.split('\n')) {
      const m = /^add \S+ (?:\S+,sctp:)?(\d+)$/.exec(line.trim());
      if (m?.[1]) out.add(`${proto}:${m[1]}`);
    }
  }
  return out;
}

/** --dry-run: nothing runs, the kernel looks empty, everything is printed through `write`. */
export function createDryRunIpvsApplier(family: IPFamily, write: (text: string) => void): IpvsApplier {
  const stats: ApplierStats = { ipvsChanges: 0, ipvsDumps: 0 };
  return {
    family,
    stats,
    readKernel: async () => new Map(),
    readDestinations: async () => new Map(),
    async applyIpvs(ops) {
      stats.ipvsChanges += ops.length;
      if (ops.length > 0) write(`# ${family} ipvs\n${ops.map((o) => `${describeOp(o)}\n`).join('')}`);
      return ops.map((op) => ({ op, error: null }));
    },
    readAddresses: async () => ({ bound: [], node: [] }),
    async changeAddresses(add, remove) {
      const lines = [...add.map((a) => `add ${a}`), ...remove.map((a) => `del ${a}`)];
      if (lines.length > 0) write(`# ${family} ${DUMMY_DEVICE} addresses\n${lines.join('\n')}\n`);
      return [];
    },
    restoreIpsets: async (script) => write(`# ${family} ipset restore -exist\n${script}`),
    async ensureJumps(jumps) {
      for (const j of jumps) write(`# ${family} jump: -t ${j.table} -I ${j.chain} 1 ${argsToRestore(j.args)}\n`);
    },
    restoreRules: async (payload) => write(`# ${family} ${family === 'IPv6' ? 'ip6tables' : 'iptables'}-restore --noflush --counters\n${payload}`),
    cleanup: async () => write(`# ${family} cleanup: ipvs services on ${DUMMY_DEVICE} and NodePorts, ${DUMMY_DEVICE}, KUBE-* chains and ipsets would be removed\n`),
    hasLeftovers: async () => false,
    close: () => undefined,
  };
}
