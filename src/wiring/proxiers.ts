// Part of the composition root (main.ts): the configured mode's proxiers, and --cleanup of every
// mode's state (as upstream's CleanupLeftovers runs the iptables, ipvs and nftables clean-ups
// whatever the configured mode). Both only look the mode up in the registry.
import type { IptablesBackend } from '../config/types.ts';
import { KubeProxyError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import type { Proxier } from '../model/types.ts';
import type { Exec } from '../system/exec.ts';
import type { ProxierDeps } from '../backends/mode-entry.ts';
import { MODES, modeEntry } from '../backends/modes.ts';

export type { ProxierDeps } from '../backends/mode-entry.ts';

export function createProxiers(d: ProxierDeps): Promise<Proxier[]> {
  return modeEntry(d.config.mode).createProxiers(d);
}

/**
 * --cleanup: each registered mode removes its own state, in the --iptables-backend back-ends (both
 * with `auto`); one mode's failure does not stop the others. Modes with state beside their chains
 * go first: ipvs finds its NodePort virtual servers through its ipsets and chains, which the
 * iptables entry's sweep of every KUBE-* chain would remove.
 */
export async function cleanupAllModes(d: { exec: Exec; logger: Logger; iptablesBackend: IptablesBackend }): Promise<void> {
  const failures: string[] = [];
  const order = [...MODES.filter((m) => m.leftovers.removeState), ...MODES.filter((m) => !m.leftovers.removeState)];
  for (const mode of order) {
    try {
      await mode.cleanup(d);
    } catch (err) {
      failures.push(mode.name);
      d.logger.error({ mode: mode.name, err }, 'cleanup failed');
    }
  }
  if (failures.length > 0) throw new KubeProxyError('KP_ERR_RULES_APPLY', `cleanup failed for ${failures.join(', ')}`);
}
