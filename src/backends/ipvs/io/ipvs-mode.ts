// The ipvs mode's registry entry (src/backends/modes.ts): kernel IPVS over generic netlink, plus
// the iptables rules and ipsets upstream's ipvs proxier writes beside it. Its proxier, kernel
// clients, clean-up and tracer are imported when used: a daemon in another mode loads only what
// removing ipvs leftovers needs (io/leftovers.ts), and no daemon loads the tracer (issue 14).
import { release } from 'node:os';
import { primaryNodeIPs } from '../../../config/node-ips.ts';
import { IPVS_DEPRECATION, IPVS_GATE } from '../../../config/mode-warnings.ts';
import { iptablesHostFamilies } from '../../common/io/iptables-families.ts';
import type { InitOnlyDeps, ModeEntry } from '../../mode-entry.ts';
import { IPVS_CHAINS } from '../owned-chains.ts';
import { ipvsSysctls } from '../sysctls.ts';

export const ipvsMode: ModeEntry = {
  name: 'ipvs',
  deprecation: IPVS_DEPRECATION,
  featureGate: IPVS_GATE,
  // The rules beside IPVS are iptables ones: the families whose iptables answers.
  hostFamilies: (d) => iptablesHostFamilies(d.exec, d.config.iptables.backend, d.kernelFamilies, d.logger),
  syncPeriods: (c) => ({ syncPeriodMs: c.ipvs.syncPeriodMs, minSyncPeriodMs: c.ipvs.minSyncPeriodMs }),
  initOnly: initIpvs,
  createProxiers: async (d) =>
    (await import('./setup.ts')).createIpvsProxiers({
      config: d.config,
      families: d.families,
      exec: d.exec,
      logger: d.logger,
      ...(d.metrics ? { metrics: d.metrics } : {}),
      ...(d.write ? { write: d.write } : {}),
      ...(d.backend ? { backend: d.backend } : {}),
      primaryNodeIPs: primaryNodeIPs(d.nodeIPs, d.families),
    }),
  cleanup: async (d) => (await import('./leftovers.ts')).cleanupIpvs(d),
  leftovers: { chains: IPVS_CHAINS, removeState: async (d) => (await import('./leftovers.ts')).removeIpvsState(d) },
  // The virtual servers over netlink, `ipset save` and iptables-save, as one JSON bundle.
  trace: async () => {
    const [{ recognisesIpvsState }, { traceIpvs }, { readIpvsTraceState }] = await Promise.all([
      import('../trace/ipvs-trace-state.ts'), import('../trace/trace-ipvs.ts'), import('./read-trace-state.ts'),
    ]);
    return { recognises: recognisesIpvsState, readState: readIpvsTraceState, trace: traceIpvs };
  },
};

/** upstream ipvs NewProxier up to its initOnly return: IPVS present, its sysctls, --ipvs-*-timeout. */
async function initIpvs(d: InitOnlyDeps): Promise<void> {
  const ipvs = await (d.openIpvs ?? (await import('./setup.ts')).openIpvs)();
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
