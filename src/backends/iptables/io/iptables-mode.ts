// The iptables mode's registry entry (src/backends/modes.ts): upstream's default mode, one
// iptables-restore transaction per family. The proxier, its clean-up and its tracer are imported
// when used: a daemon in another mode never loads them, and the daemon never loads the tracer.
import { prepareIptablesSysctls } from '../../../system/sysctl.ts';
import { iptablesHostFamilies } from '../../common/io/iptables-families.ts';
import { primaryNodeIPs } from '../../../config/node-ips.ts';
import type { ModeEntry } from '../../mode-entry.ts';
import { IPTABLES_CHAINS } from '../owned-chains.ts';

export const iptablesMode: ModeEntry = {
  name: 'iptables',
  // As upstream's platformCheckSupported: the families whose iptables answers.
  hostFamilies: (d) => iptablesHostFamilies(d.exec, d.config.iptables.backend, d.kernelFamilies, d.logger),
  syncPeriods: (c) => ({ syncPeriodMs: c.iptables.syncPeriodMs, minSyncPeriodMs: c.iptables.minSyncPeriodMs }),
  // upstream iptables NewProxier: route_localnet for localhost NodePorts (IPv4 only).
  initOnly: (d) => prepareIptablesSysctls(d.sysctl, d.logger, d.config.iptables.localhostNodePorts && d.families.includes('IPv4')),
  createProxiers: async (d) =>
    (await import('./setup.ts')).createIptablesProxiers({
      config: d.config,
      families: d.families,
      exec: d.exec,
      logger: d.logger,
      ...(d.metrics ? { metrics: d.metrics } : {}),
      ...(d.write ? { write: d.write } : {}),
      ...(d.backend ? { backend: d.backend } : {}),
      primaryNodeIPs: primaryNodeIPs(d.nodeIPs, d.families),
    }),
  cleanup: async (d) => (await import('../../common/io/iptables-cleanup.ts')).cleanupIptablesChains(d),
  checksDrift: true,
  leftovers: { chains: IPTABLES_CHAINS },
  trace: async () => {
    const [{ holdsIptablesMode, traceIptables }, { readIptablesTraceState }] = await Promise.all([import('../trace/trace-iptables.ts'), import('./read-trace-state.ts')]);
    return { recognises: holdsIptablesMode, readState: readIptablesTraceState, trace: traceIptables };
  },
};
