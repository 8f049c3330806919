// The ipvs mode's registry entry (src/backends/modes.ts): kernel IPVS over generic netlink, plus
// the iptables rules and ipsets upstream's ipvs proxier writes beside it.
import { release } from 'node:os';
import { primaryNodeIPs } from '../../../config/node-ips.ts';
import { describeError, KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { Exec } from '../../../system/exec.ts';
import { detectBackend } from '../../../system/detect-iptables-backend.ts';
import { createIptables } from '../../../system/iptables.ts';
import { IpvsClient } from '../../../system/ipvs-client.ts';
import { LinkClient } from '../../../system/link-client.ts';
import { IPVS_DEPRECATION, IPVS_GATE } from '../../../config/mode-warnings.ts';
import type { IptablesBackend } from '../../../config/types.ts';
import { iptablesHostFamilies } from '../../common/io/iptables-families.ts';
import type { ForeignStateDeps, InitOnlyDeps, ModeEntry } from '../../mode-entry.ts';
import { createIpvsApplier } from '../ipvs-applier.ts';
import { IPVS_CHAINS } from '../owned-chains.ts';
import { ipvsSysctls } from '../sysctls.ts';
import { createIpvsProxiers, openIpvs } from './setup.ts';
import { readIpvsTraceState } from './read-trace-state.ts';
import { recognisesIpvsState } from '../trace/ipvs-trace-state.ts';
import { traceIpvs } from '../trace/trace-ipvs.ts';

export const ipvsMode: ModeEntry = {
  name: 'ipvs',
  deprecation: IPVS_DEPRECATION,
  featureGate: IPVS_GATE,
  // The rules beside IPVS are iptables ones: the families whose iptables answers.
  hostFamilies: (d) => iptablesHostFamilies(d.exec, d.config.iptables.backend, d.kernelFamilies, d.logger),
  syncPeriods: (c) => ({ syncPeriodMs: c.ipvs.syncPeriodMs, minSyncPeriodMs: c.ipvs.minSyncPeriodMs }),
  initOnly: initIpvs,
  createProxiers: (d) =>
    createIpvsProxiers({
      config: d.config,
      families: d.families,
      exec: d.exec,
      logger: d.logger,
      ...(d.metrics ? { metrics: d.metrics } : {}),
      ...(d.write ? { write: d.write } : {}),
      ...(d.backend ? { backend: d.backend } : {}),
      primaryNodeIPs: primaryNodeIPs(d.nodeIPs, d.families),
    }),
  cleanup: cleanupIpvs,
  leftovers: { chains: IPVS_CHAINS, removeState: removeIpvsState },
  // The virtual servers over netlink, `ipset save` and iptables-save, as one JSON bundle.
  trace: { recognises: recognisesIpvsState, readState: readIpvsTraceState, trace: traceIpvs },
};

/** upstream ipvs NewProxier up to its initOnly return: IPVS present, its sysctls, --ipvs-*-timeout. */
async function initIpvs(d: InitOnlyDeps): Promise<void> {
  const ipvs = await (d.openIpvs ?? openIpvs)();
  try {
    const t = d.config.ipvs;
    if (t.tcpTimeoutMs > 0 || t.tcpFinTimeoutMs > 0 || t.udpTimeoutMs > 0) {
      await ipvs.setTimeouts({ tcp: Math.round(t.tcpTimeoutMs / 1000), tcpFin: Math.round(t.tcpFinTimeoutMs / 1000), udp: Math.round(t.udpTimeoutMs / 1000) });
    }
  } finally {
    ipvs.close();
  }
  const kernelRelease = d.kernelRelease ?? release();
  const plan = ipvsSysctls({ kernelRelease, strictARP: d.config.ipvs.strictARP });
  if (plan.warning) d.logger.warn({ kernel: kernelRelease }, plan.warning);
  for (const s of plan.settings) await d.sysctl.ensure(s.key, s.value);
}

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

/**
 * --cleanup: the ipvs mode's virtual servers, kube-ipvs0, chains and ipsets, in the back-end
 * --iptables-backend names (detected with `auto`); nothing when the kernel has no IPVS.
 */
async function cleanupIpvs(d: { exec: Exec; logger: Logger; iptablesBackend: IptablesBackend }): Promise<void> {
  const ipvs = await openIfPresent(d.logger, 'cleanup: no IPVS in this kernel, skipped');
  if (ipvs === null) return;
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
    ipvs.close();
    links.close();
  }
}

/**
 * Another mode starts: the ipvs mode's kernel state (its virtual servers, kube-ipvs0, then —
 * through `removeChains`, so the running mode's chains stay — its chains, then its ipsets).
 */
async function removeIpvsState(d: ForeignStateDeps): Promise<void> {
  const ipvs = await openIfPresent(d.logger, 'no IPVS in this kernel: no ipvs leftovers');
  if (ipvs === null) return;
  const links = LinkClient.open();
  const applier = createIpvsApplier({ family: d.family, ipvs, links, iptables: d.iptables, exec: d.exec, logger: d.logger });
  try {
    // No kube-ipvs0 and no KUBE set of this family: no ipvs mode ran here for it.
    if (!(await applier.hasLeftovers())) return;
    await applier.cleanup(d.removeChains);
    d.logger.info('ipvs leftovers removed (virtual servers, kube-ipvs0, ipsets)');
  } finally {
    applier.close();
  }
}
