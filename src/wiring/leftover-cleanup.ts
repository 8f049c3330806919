// Part of the composition root: removes what other proxy modes left on the node (kube-proxy or
// kube-proxy-ts, any mode), once, after the running mode's FIRST successful sync of a family, so
// there is no moment without rules: until then the old rules keep answering; after it, the old
// per-service chains are unreferenced (the shared KUBE-SERVICES was rewritten) or bypassed (the
// iptables DNAT in PREROUTING/OUTPUT runs before IPVS sees a packet). Established connections keep
// their conntrack NAT binding and are not affected. A failure is logged and tried again after the
// next successful sync; it never fails a sync.
import { LEFTOVER_TABLES, LeftoverScan, otherModes, type ChainsByMode } from '../backends/common/foreign-chains.ts';
import { createIptablesApplier } from '../backends/common/iptables-rules-applier.ts';
import type { ModeEntry } from '../backends/mode-entry.ts';
import { chainsByMode, MODES, modeEntry } from '../backends/modes.ts';
import type { ProxyConfig } from '../config/types.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily, Proxier, ProxyState, SyncResult } from '../model/types.ts';
import type { Exec } from '../system/exec.ts';
import { createIptables, type Iptables, type XtablesBackend } from '../system/iptables.ts';

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
      ...(p.close ? { close: () => p.close?.() ?? Promise.resolve() } : {}),
    };
    return wrapped;
  });
}

export interface LeftoverDeps {
  readonly config: ProxyConfig;
  readonly exec: Exec;
  readonly logger: Logger;
  /** The back-end the running mode writes to, detected once at start (run-iptables-backend.ts). */
  readonly backend: XtablesBackend;
}

/** The clean-up for the configured mode: every other registered mode's leftovers. */
export function createLeftoverCleaner(d: LeftoverDeps): LeftoverCleaner {
  const keep = modeEntry(d.config.mode);
  const log = d.logger.child({ component: 'leftovers', mode: keep.name });
  const chains = chainsByMode();
  const others = MODES.filter((m) => m !== keep);
  return async (family) => {
    const ipt = createIptables(d.exec, family, d.backend);
    await removeOtherModes(others, { family, exec: d.exec, logger: log, iptables: ipt }, scopedRemoval(ipt, chains, keep.name, log));
    await sweepOtherBackend(d.exec, family, d.backend, log);
  };
}

/**
 * Each other mode's state beside its chains (IPVS first: its NodePort virtual servers are found
 * through its ipsets, which go last), handing it the chain removal to run at its point; the chains
 * go once, after every mode's state if none ran it.
 */
async function removeOtherModes(
  others: readonly ModeEntry[], base: { family: IPFamily; exec: Exec; logger: Logger; iptables: Iptables }, removeChains: () => Promise<void>,
): Promise<void> {
  let removed = false;
  const once = async (): Promise<void> => {
    if (removed) return;
    removed = true;
    await removeChains();
  };
  for (const m of others) await m.leftovers.removeState?.({ ...base, removeChains: once });
  await once();
}

/** One restore removing the other modes' chains and jumps from the tables of `ipt`. */
function scopedRemoval(ipt: Iptables, chains: ChainsByMode, keep: string, log: Logger): () => Promise<void> {
  return async () => {
    const parts: string[] = [];
    const removed: string[] = [];
    let rules = 0;
    for (const t of LEFTOVER_TABLES) {
      const scan = new LeftoverScan(chains, keep, t);
      await ipt.saveChunks(t, (text) => scan.push(text));
      const plan = scan.end();
      if (plan.payload === '') continue;
      parts.push(plan.payload);
      removed.push(...plan.chains.map((c) => `${t}/${c}`));
      rules += plan.rules;
    }
    if (parts.length === 0) return;
    await ipt.restore(parts.join(''));
    log.info({ family: ipt.family, backend: ipt.backend, chains: removed.length, rules, from: otherModes(chains, keep) }, 'other modes\' leftover chains removed');
  };
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
