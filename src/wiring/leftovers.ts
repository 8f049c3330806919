// Part of the composition root: removes what other proxy modes left on the node (kube-proxy or
// kube-proxy-ts, any mode), once, after the running mode's FIRST successful sync of a family, so
// there is no moment without rules: until then the old rules keep answering; after it, the old
// per-service chains are unreferenced (the shared KUBE-SERVICES was rewritten) or bypassed (the
// iptables DNAT in PREROUTING/OUTPUT runs before IPVS sees a packet). Established connections keep
// their conntrack NAT binding and are not affected. A failure is logged and tried again after the
// next successful sync; it never fails a sync.
import { otherModes, renderLeftoverCleanup, LEFTOVER_TABLES, type LeftoverKeeper } from '../backends/leftovers.ts';
import { createIptablesApplier } from '../backends/iptables/iptables-applier.ts';
import { deleteNftablesTables } from '../backends/nftables/io/leftovers.ts';
import { createIpvsApplier } from '../backends/ipvs/ipvs-applier.ts';
import type { ProxyConfig } from '../config/types.ts';
import { describeError, KubeProxyError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily, Proxier, ProxyState, SyncResult } from '../model/types.ts';
import type { Exec } from '../system/exec.ts';
import { createIptables, type Iptables, type XtablesBackend } from '../system/iptables.ts';
import { IpvsClient } from '../system/ipvs-client.ts';
import { LinkClient } from '../system/link-client.ts';
import { createSysctl } from '../system/sysctl.ts';

export type LeftoverCleaner = (family: IPFamily) => Promise<void>;

/**
 * Wrap each proxier so that its first successful sync is followed by `clean(family)`; until the
 * clean-up succeeds once it is tried after every successful sync. The sync result is the proxier's.
 */
export function withLeftoverCleanup(proxiers: readonly Proxier[], clean: LeftoverCleaner, logger: Logger): Proxier[] {
  return proxiers.map((p) => {
    let done = false;
    const wrapped: Proxier = {
      mode: p.mode,
      family: p.family,
      async sync(state: ProxyState): Promise<SyncResult> {
        const result = await p.sync(state);
        if (!done) {
          try {
            await clean(p.family);
            done = true;
          } catch (err) {
            logger.error({ family: p.family, err, reason: describeError(err) }, 'removing other modes\' leftovers failed; retried after the next sync');
          }
        }
        return result;
      },
      cleanup: () => p.cleanup(),
      ...(p.close ? { close: () => p.close?.() ?? Promise.resolve() } : {}),
    };
    return wrapped;
  });
}

export interface LeftoverDeps {
  readonly config: ProxyConfig;
  readonly exec: Exec;
  readonly logger: Logger;
  /** The back-end the running mode writes to, detected once at start (iptables-backend.ts). */
  readonly backend: XtablesBackend;
}

/** The clean-up for the configured mode (iptables, ipvs or userspace). */
export function createLeftoverCleaner(d: LeftoverDeps): LeftoverCleaner {
  const mode = d.config.mode;
  const log = d.logger.child({ component: 'leftovers', mode });
  const backend = d.backend;
  return async (family) => {
    const ipt = createIptables(d.exec, family, backend);
    const scoped = scopedRemoval(ipt, mode, log);
    // IPVS first: its NodePort virtual servers are found through its ipsets, which go last.
    if (mode !== 'ipvs') await removeIpvsState(d, family, ipt, scoped, log);
    else await scoped();
    await sweepOtherBackend(d.exec, family, backend, log);
    // Every mode but nftables removes the nftables mode's table of the family (upstream cleans
    // the other modes' rules whatever ran before); a node without nft has none.
    if (mode !== 'nftables') await deleteNftablesTables(d.exec, [family], log);
  };
}

/** One restore removing the other modes' chains and jumps from the tables of `ipt`. */
function scopedRemoval(ipt: Iptables, keep: LeftoverKeeper, log: Logger): () => Promise<void> {
  return async () => {
    const parts: string[] = [];
    const removed: string[] = [];
    let rules = 0;
    for (const t of LEFTOVER_TABLES) {
      const plan = renderLeftoverCleanup(keep, t, await ipt.save(t));
      if (plan.payload === '') continue;
      parts.push(plan.payload);
      removed.push(...plan.chains.map((c) => `${t}/${c}`));
      rules += plan.rules;
    }
    if (parts.length === 0) return;
    await ipt.restore(parts.join(''));
    log.info({ family: ipt.family, backend: ipt.backend, chains: removed.length, rules, from: otherModes(keep) }, 'other modes\' leftover chains removed');
  };
}

/**
 * The ipvs mode's kernel state (its virtual servers, kube-ipvs0, then — through `removeRules`, so
 * the running mode's chains stay — its chains, then its ipsets). Nothing without IPVS in the kernel.
 */
async function removeIpvsState(d: LeftoverDeps, family: IPFamily, ipt: Iptables, removeRules: () => Promise<void>, log: Logger): Promise<void> {
  let ipvs: IpvsClient;
  try {
    ipvs = await IpvsClient.open();
  } catch (err) {
    if (KubeProxyError.is(err) && err.code === 'KP_ERR_KERNEL_MISSING') {
      log.debug({ reason: describeError(err) }, 'no IPVS in this kernel: no ipvs leftovers');
      await removeRules();
      return;
    }
    throw err;
  }
  const links = LinkClient.open();
  const applier = createIpvsApplier({ family, ipvs, links, iptables: ipt, exec: d.exec, sysctl: createSysctl(log), logger: log });
  try {
    // No kube-ipvs0 and no KUBE set of this family: no ipvs mode ran here for it.
    if (!(await applier.hasLeftovers())) {
      await removeRules();
      return;
    }
    await applier.cleanup(removeRules);
    log.info('ipvs leftovers removed (virtual servers, kube-ipvs0, ipsets)');
  } finally {
    applier.close();
  }
}

/**
 * Everything of ours in the other iptables back-end: every mode here writes to one back-end, and
 * rules left in the other one (e.g. kube-proxy on legacy, us on nft) would still rewrite packets.
 */
async function sweepOtherBackend(exec: Exec, family: IPFamily, backend: XtablesBackend, log: Logger): Promise<void> {
  const other: XtablesBackend = backend === 'nft' ? 'legacy' : 'nft';
  const ipt = createIptables(exec, family, other);
  let saved: string;
  try {
    saved = await ipt.save('nat');
  } catch (err) {
    log.debug({ backend: other, family, reason: describeError(err) }, 'other iptables back-end not usable: nothing to remove there');
    return;
  }
  if (!/^:KUBE-/m.test(saved)) return;
  await createIptablesApplier(ipt).cleanup();
  log.info({ backend: other, family }, 'kube-proxy chains removed from the other iptables back-end');
}
