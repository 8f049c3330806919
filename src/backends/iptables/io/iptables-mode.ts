// The iptables mode's registry entry (src/backends/modes.ts): upstream's default mode, one
// iptables-restore transaction per family.
import { prepareIptablesSysctls } from '../../../system/sysctl.ts';
import { cleanupIptablesChains } from '../../common/io/iptables-cleanup.ts';
import { iptablesHostFamilies } from '../../common/io/iptables-families.ts';
import { primaryNodeIPs } from '../../../config/node-ips.ts';
import type { ModeEntry } from '../../mode-entry.ts';
import { IPTABLES_CHAINS } from '../owned-chains.ts';
import { createIptablesProxiers } from './setup.ts';
import { holdsIptablesMode, traceIptables } from '../trace/trace-iptables.ts';
import { readIptablesTraceState } from './read-trace-state.ts';

export const iptablesMode: ModeEntry = {
  name: 'iptables',
  // As upstream's platformCheckSupported: the families whose iptables answers.
  hostFamilies: (d) => iptablesHostFamilies(d.exec, d.config.iptables.backend, d.kernelFamilies, d.logger),
  syncPeriods: (c) => ({ syncPeriodMs: c.iptables.syncPeriodMs, minSyncPeriodMs: c.iptables.minSyncPeriodMs }),
  // upstream iptables NewProxier: route_localnet for localhost NodePorts (IPv4 only).
  initOnly: (d) => prepareIptablesSysctls(d.sysctl, d.logger, d.config.iptables.localhostNodePorts && d.families.includes('IPv4')),
  createProxiers: (d) =>
    createIptablesProxiers({
      config: d.config,
      families: d.families,
      exec: d.exec,
      logger: d.logger,
      ...(d.metrics ? { metrics: d.metrics } : {}),
      ...(d.write ? { write: d.write } : {}),
      ...(d.backend ? { backend: d.backend } : {}),
      primaryNodeIPs: primaryNodeIPs(d.nodeIPs, d.families),
    }),
  cleanup: (d) => cleanupIptablesChains(d),
  checksDrift: true,
  leftovers: { chains: IPTABLES_CHAINS },
  trace: { recognises: holdsIptablesMode, readState: readIptablesTraceState, trace: traceIptables },
};
