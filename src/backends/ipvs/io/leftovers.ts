// The ipvs mode's removal of its own state: --cleanup, and another mode starting on a node it ran
// on (leftovers.removeState). Imported by the registry entry (ipvs-mode.ts) only when one of them
// runs; the applier (and through it the planner) only once IPVS is found in the kernel, which on
// a node that never ran the ipvs mode is usually not the case (issue 14: idle RSS).
import { describeError, KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { Exec } from '../../../system/exec.ts';
import { detectBackend } from '../../../system/detect-iptables-backend.ts';
import { createIptables } from '../../../system/iptables.ts';
import { IpvsClient } from '../../../system/ipvs-client.ts';
import type { IptablesBackend } from '../../../config/types.ts';
import type { ForeignStateDeps } from '../../mode-entry.ts';
import type { LinkClient } from '../../../system/link-client.ts';
import type { createIpvsApplier } from '../ipvs-applier.ts';

/** IPVS, or null when the kernel has none (nothing of the ipvs mode can be there then). */
async function openIfPresent(log: Logger, why: string): Promise<IpvsClient | null> {
  try {
    return await IpvsClient.open();
  } catch (err) {
    if (KubeProxyError.is(err) && err.code === 'KP_ERR_KERNEL_MISSING') {
      log.debug({ reason: describeError(err) }, why);
      return null;
    }
    throw err;
  }
}

/** What removing needs beyond IPVS itself: kube-ipvs0 over rtnetlink and the applier's clean-up. */
async function removalParts(): Promise<{ LinkClient: typeof LinkClient; createIpvsApplier: typeof createIpvsApplier }> {
  const [links, applier] = await Promise.all([import('../../../system/link-client.ts'), import('../ipvs-applier.ts')]);
  return { LinkClient: links.LinkClient, createIpvsApplier: applier.createIpvsApplier };
}

/**
 * --cleanup: the ipvs mode's virtual servers, kube-ipvs0, chains and ipsets, in the back-end
 * --iptables-backend names (detected with `auto`); nothing when the kernel has no IPVS.
 */
export async function cleanupIpvs(d: { exec: Exec; logger: Logger; iptablesBackend: IptablesBackend }): Promise<void> {
  const ipvs = await openIfPresent(d.logger, 'cleanup: no IPVS in this kernel, skipped');
  if (ipvs === null) return;
  try {
    const { LinkClient, createIpvsApplier } = await removalParts();
    const links = LinkClient.open();
    try {
      const { backend } = d.iptablesBackend === 'auto' ? await detectBackend(d.exec, 'auto', ['IPv4'], d.logger) : { backend: d.iptablesBackend };
      // Both families: each removes its own virtual servers, addresses, chains and sets; the last
      // one removes kube-ipvs0 (ipvs-applier.ts cleanup).
      for (const family of ['IPv4', 'IPv6'] as const) {
        const applier = createIpvsApplier({
          family,
          ipvs,
          links,
          iptables: createIptables(d.exec, family, backend),
          exec: d.exec,
          logger: d.logger,
        });
        if (await applier.hasLeftovers()) await applier.cleanup();
      }
      d.logger.info({ backend }, 'cleanup: ipvs services, kube-ipvs0 and ipsets removed');
    } finally {
      links.close();
    }
  } finally {
    ipvs.close();
  }
}

/**
 * Another mode starts: the ipvs mode's kernel state (its virtual servers, kube-ipvs0, then —
 * through `removeChains`, so the running mode's chains stay — its chains, then its ipsets).
 */
export async function removeIpvsState(d: ForeignStateDeps): Promise<void> {
  const ipvs = await openIfPresent(d.logger, 'no IPVS in this kernel: no ipvs leftovers');
  if (ipvs === null) return;
  let parts;
  try {
    parts = await removalParts();
  } catch (err) {
    ipvs.close();
    throw err;
  }
  const links = parts.LinkClient.open();
  const applier = parts.createIpvsApplier({ family: d.family, ipvs, links, iptables: d.iptables, exec: d.exec, logger: d.logger });
  try {
    // No kube-ipvs0 and no KUBE set of this family: no ipvs mode ran here for it.
    if (!(await applier.hasLeftovers())) return;
    await applier.cleanup(d.removeChains);
    d.logger.info('ipvs leftovers removed (virtual servers, kube-ipvs0, ipsets)');
  } finally {
    applier.close();
  }
}
