// The Proxier for --proxy-mode=ipvs, one per IP family (upstream pkg/proxy/ipvs/proxier.go
// syncProxyRules), with upstream's full reconcile made incremental: a full sync (first, periodic,
// after any failure) dumps every virtual server and kube-ipvs0's addresses once and diffs all of
// it; a partial sync re-reads only the virtual servers of the service ports that changed and diffs
// those against the model kept from the last sync, so one endpoint change costs O(1) netlink
// messages. Then: addresses bound before services (the VIP is local when traffic starts), IPVS
// changes in batches, one ipset restore, one iptables-restore when the rules changed, stale
// addresses unbound last, then the UDP conntrack clean-up (common/udp-conntrack-cleaner.ts). Failed steps are logged each with what and why, counted, the others
// still applied, and the sync throws so the loop retries, fully. Pending graceful deletions are
// rechecked by a timer (upstream: every minute). Pure: everything reaches the kernel via the applier.
import { KubeProxyError, describeError } from '../../errors.ts';
import type { Logger } from '../../model/logger.ts';
import type { IPFamily, Proxier, ProxyState, ServicePortName, SyncResult } from '../../model/types.ts';
import type { BackendMetrics } from '../../sync/sync-metrics.ts';
import type { Conntrack } from '../../system/conntrack.ts';
import type { IpvsOp } from '../../system/ipvs-client.ts';
import { UdpConntrackCleaner } from '../common/udp-conntrack-cleaner.ts';
import { FullSyncPolicy } from '../common/full-sync-policy.ts';
import { nodePortCIDRsOf, selectByCIDRs } from '../common/node-port-addresses.ts';
import { cidrContains } from '../../model/ip.ts';
import { applyOpsInPlace, applyOpsToModel, diffAddresses, diffIpvs, recheckPending, type KernelVirtualServer, type PendingDeletion } from './diff.ts';
import type { ApplierStats, IpvsApplier } from './ipvs-applier.ts';
import { renderIpsetDelta, renderIpsetRestore } from './ipsets.ts';
import { PlanIndex, type Conflict } from './plan-index.ts';
import { nodePortCandidates, serviceKey } from './plan.ts';
import { ipvsJumps, renderIpvsRules, type IpvsRulesOptions } from './rules.ts';

export interface IpvsProxierOptions {
  readonly family: IPFamily;
  readonly applier: IpvsApplier;
  readonly logger: Logger;
  /** `--ipvs-scheduler` ('' = rr). */
  readonly scheduler: string;
  /** `--ipvs-exclude-cidrs`: virtual servers and addresses inside are never deleted. */
  readonly excludeCIDRs: readonly string[];
  /** Resolved nodePortAddresses CIDRs ('primary' already expanded); empty: every node address. */
  readonly nodePortAddresses: readonly string[];
  /** Rule options for this sync (the local detector depends on the Node). */
  readonly rulesOptions: (state: ProxyState) => IpvsRulesOptions;
  readonly now: () => number;
  /** Runs `fn` after `ms` (a timer in main.ts; tests pass a manual one); absent: no background recheck. */
  readonly schedule?: (fn: () => void, ms: number) => { cancel(): void };
  /** Graceful-termination recheck interval; upstream rsCheckDeleteInterval is 1 minute. */
  readonly gracefulRecheckMs?: number;
  /** UDP flow clean-up after each successful sync; absent (--dry-run): none. */
  readonly conntrack?: Conntrack;
  /** sync_proxy_rules_iptables_restore_failures_total, as every mode reports it. */
  readonly metrics?: BackendMetrics;
}

export interface IpvsSyncStats {
  readonly full: boolean;
  readonly ipvsOps: number;
  readonly addressChanges: number;
  readonly ipsetLines: number;
  readonly rulesWritten: boolean;
}

export class IpvsProxier implements Proxier {
  readonly mode = 'ipvs' as const;
  readonly family: IPFamily;
  readonly #o: IpvsProxierOptions;
  #kernel: Map<string, KernelVirtualServer> | undefined;
  #bound = new Set<string>();
  #nodeAddresses: readonly string[] = [];
  #pending = new Map<string, PendingDeletion>();
  #rules: string | undefined;
  /** The plan per service port as of the last successful sync; undefined: the next sync is full. */
  #index: PlanIndex | undefined;
  readonly #policy = new FullSyncPolicy();
  #queue: Promise<unknown> = Promise.resolve();
  #timer: { cancel(): void } | undefined;
  readonly #udp: UdpConntrackCleaner;
  /** Failed steps so far. */
  errors = 0;
  lastSync: IpvsSyncStats | undefined;

  constructor(options: IpvsProxierOptions) {
    this.#o = options;
    this.family = options.family;
    this.#udp = new UdpConntrackCleaner({
      family: options.family,
      logger: options.logger,
      ...(options.conntrack ? { conntrack: options.conntrack } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Netlink requests the applier sent so far (IPVS changes and dumps). */
  get netlinkStats(): Readonly<ApplierStats> {
    return { ...this.#o.applier.stats };
  }

  get pendingDeletions(): ReadonlyMap<string, PendingDeletion> {
    return this.#pending;
  }

  /** One thing at a time on the netlink sockets: syncs and rechecks queue behind each other. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch((err: unknown) => void err);
    return run;
  }

  sync(state: ProxyState): Promise<SyncResult> {
    return this.#serial(async () => {
      try {
        return await this.#sync(state);
      } catch (err) {
        // Whatever broke (a dump, a socket), the model may be stale: the next sync reads everything.
        this.#policy.requireFull();
        this.#udp.syncFailed(state);
        throw err;
      }
    });
  }

  #excluded = (address: string): boolean => this.#o.excludeCIDRs.some((c) => cidrContains(c, address));

  async #sync(state: ProxyState): Promise<SyncResult> {
    const { applier, logger } = this.#o;
    const full = this.#policy.isFull(state.full) || this.#kernel === undefined || this.#index === undefined;
    const failures: string[] = [];
    const fail = (what: string, err: unknown, extra: Record<string, unknown> = {}): void => {
      this.errors++;
      failures.push(describeError(err));
      logger.error({ family: this.family, err, reason: describeError(err), ...extra }, what);
    };
    let kernel: Map<string, KernelVirtualServer>;
    let index: PlanIndex;
    let scope: ReadonlySet<string> | undefined;
    let addr: { add: string[]; remove: string[] };
    let script: string;
    let conflicts: readonly Conflict[];
    if (full || this.#kernel === undefined || this.#index === undefined) {
      const addrs = await applier.readAddresses();
      this.#bound = new Set(addrs.bound);
      this.#nodeAddresses = addrs.node;
      kernel = await applier.readKernel();
      // The safety net: everything re-planned and compared with what the kernel has.
      index = PlanIndex.build(state, { family: this.family, scheduler: this.#o.scheduler, nodePortIPs: this.#nodePortIPs(), localAddresses: new Set(this.#nodeAddresses) });
      conflicts = index.conflicts();
      addr = diffAddresses(index.boundAddresses, this.#bound, this.#excluded);
      script = renderIpsetRestore(this.family, index.entries);
    } else {
      // Only the service ports that changed are re-planned, and only their virtual servers read and diffed.
      kernel = this.#kernel;
      index = this.#index;
      const patch = index.update(state, new Set<ServicePortName>([...state.changedServices, ...state.changedEndpoints, ...(state.removedServices?.keys() ?? [])]));
      scope = patch.scope;
      conflicts = patch.conflicts;
      addr = {
        add: patch.bind.filter((a) => !this.#bound.has(a)).sort(),
        remove: patch.unbind.filter((a) => this.#bound.has(a) && !this.#excluded(a)).sort(),
      };
      script = renderIpsetDelta(this.family, patch.ipsetDelta);
      const fresh = await applier.readDestinations([...patch.scope].flatMap((k) => kernel.get(k)?.service ?? []));
      for (const [k, dests] of fresh) {
        const vs = kernel.get(k);
        if (vs) kernel.set(k, { service: vs.service, destinations: dests });
      }
    }
    // Until this sync succeeds, the next one is full (a throw below leaves a half-patched index).
    this.#index = undefined;
    for (const c of conflicts) logger.warn({ family: this.family, virtualServer: c.key, owner: c.owner, ignored: c.loser }, 'two service ports claim one virtual server');
    const d = diffIpvs({ plan: index, kernel, pending: this.#pending, excluded: this.#excluded, now: this.#o.now(), ...(scope ? { scope } : {}) });

    for (const err of await applier.changeAddresses(addr.add, [])) fail('ipvs: bind address failed', err);
    const done: IpvsOp[] = [];
    for (const r of await applier.applyIpvs(d.ops)) {
      // The error names the operation: `ipvs: add service 10.96.0.10:53/UDP: EEXIST`.
      if (r.error) fail('ipvs: change failed', r.error);
      else done.push(r.op);
    }
    this.#kernel = applyOpsInPlace(kernel, done);
    this.#pending = d.pending;
    if (d.quiesced > 0) logger.info({ family: this.family, quiesced: d.quiesced, pending: d.pending.size }, 'ipvs: real servers draining before deletion');

    if (script !== '') {
      try {
        await applier.restoreIpsets(script);
      } catch (err) {
        fail('ipset restore failed', err);
      }
    }

    // The fixed rules depend on the options and on which sets are empty and which LB VIPs keep the
    // node out, not on each entry: usually unchanged by a partial sync, then not written.
    const payload = renderIpvsRules(index.ipsetPlan, this.#o.rulesOptions(state));
    const writeRules = full || payload !== this.#rules;
    if (writeRules) {
      try {
        if (full) await applier.ensureJumps(ipvsJumps());
        await applier.restoreRules(payload);
        this.#rules = payload;
      } catch (err) {
        this.#rules = undefined;
        this.#o.metrics?.incRestoreFailure(!full, this.family);
        fail('iptables-restore failed', err);
      }
    }
    const unbind = await applier.changeAddresses([], addr.remove);
    for (const err of unbind) fail('ipvs: unbind address failed', err);
    for (const a of addr.add) this.#bound.add(a);
    for (const a of addr.remove) this.#bound.delete(a);
    this.#armTimer();
    this.lastSync = { full, ipvsOps: d.ops.length, addressChanges: addr.add.length + addr.remove.length, ipsetLines: script === '' ? 0 : script.split('\n').length - 1, rulesWritten: writeRules };
    if (failures.length > 0) {
      this.#policy.requireFull();
      throw new KubeProxyError('KP_ERR_RULES_APPLY', `ipvs: ${failures.length} step(s) failed, next sync is full; first: ${failures[0]}`);
    }
    this.#index = index;
    this.#policy.succeeded();
    // Upstream ipvs proxier: conntrack.CleanStaleEntries at the end of syncProxyRules. IPVS expires
    // its own connections to a deleted real server (expire_nodest_conn=1), but not conntrack
    // entries it holds no connection for, which keep their old NAT while packets keep coming.
    await this.#udp.afterSync(state);
    return {
      kind: full ? 'full' : d.ops.length + addr.add.length + addr.remove.length === 0 && script === '' && !writeRules ? 'noop' : 'partial',
      counts: {
        'ipvs-virtual-servers': index.virtualServers.size, 'ipvs-ops': d.ops.length, 'ipvs-pending-deletions': this.#pending.size,
        'no-local-endpoints-internal': index.noLocalEndpoints.internal, 'no-local-endpoints-external': index.noLocalEndpoints.external,
      },
    };
  }

  #nodePortIPs(): string[] {
    const candidates = nodePortCandidates(this.#nodeAddresses, this.family);
    return selectByCIDRs(candidates, nodePortCIDRsOf(this.#o.nodePortAddresses, this.family));
  }

  #armTimer(): void {
    const schedule = this.#o.schedule;
    if (schedule === undefined || this.#timer !== undefined || this.#pending.size === 0) return;
    this.#timer = schedule(() => {
      this.#timer = undefined;
      this.recheckPending().catch((err: unknown) => this.#o.logger.error({ family: this.family, err }, 'ipvs: graceful-termination recheck failed'));
    }, this.#o.gracefulRecheckMs ?? 60_000);
  }

  /**
   * Deletes pending real servers whose connections have drained (upstream tryDeleteRs). Reads only
   * the virtual servers that have pending entries. Returns how many were deleted.
   */
  recheckPending(): Promise<number> {
    return this.#serial(async () => {
      if (this.#pending.size === 0) return 0;
      const services = new Map<string, PendingDeletion['service']>();
      for (const p of this.#pending.values()) services.set(serviceKey(p.service), p.service);
      const fresh = await this.#o.applier.readDestinations([...services.values()]);
      const r = recheckPending(this.#pending, (p) =>
        fresh.get(serviceKey(p.service))?.find((d) => d.address === p.destination.address && d.port === p.destination.port),
      );
      const done: IpvsOp[] = [];
      for (const res of await this.#o.applier.applyIpvs(r.ops)) {
        if (res.error) {
          this.errors++;
          this.#o.logger.error({ family: this.family, err: res.error, reason: res.error.message }, 'ipvs: change failed');
        } else done.push(res.op);
      }
      if (this.#kernel) this.#kernel = applyOpsToModel(this.#kernel, done);
      this.#pending = r.pending;
      if (done.length > 0) this.#o.logger.info({ family: this.family, deleted: done.length, pending: r.pending.size }, 'ipvs: drained real servers deleted');
      this.#armTimer();
      return done.length;
    });
  }

  async close(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#serial(async () => this.#o.applier.close());
  }
}
