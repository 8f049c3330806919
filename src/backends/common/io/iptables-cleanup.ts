// --cleanup of iptables: every KUBE-* chain and the rules jumping to them, in the back-ends
// --iptables-backend names (both with `auto`) and both families, leaving everything else alone.
// Every mode that writes iptables writes only KUBE-* chains, so this removes any of them (upstream
// iptables.CleanupLeftovers). A back-end that cannot be used here (no binary, no kernel support)
// has nothing of ours to remove and is skipped with a debug line.
import type { IptablesBackend } from '../../../config/types.ts';
import { describeError, KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily } from '../../../model/types.ts';
import type { Exec } from '../../../system/exec.ts';
import { createIptables, type XtablesBackend } from '../../../system/iptables.ts';
import { cleanupKubeFirewall } from '../../iptables/io/kube-firewall-cleanup.ts';
import { createIptablesApplier } from '../iptables-rules-applier.ts';

/** The back-ends --cleanup touches for --iptables-backend. */
export function cleanupBackends(requested: IptablesBackend): readonly XtablesBackend[] {
  return requested === 'auto' ? ['legacy', 'nft'] : [requested];
}

export async function cleanupIptablesChains(d: { exec: Exec; logger: Logger; iptablesBackend: IptablesBackend }): Promise<void> {
  const failures: string[] = [];
  for (const backend of cleanupBackends(d.iptablesBackend)) {
    for (const family of ['IPv4', 'IPv6'] as IPFamily[]) {
      const ipt = createIptables(d.exec, family, backend);
      try {
        await ipt.save('filter');
      } catch (err) {
        d.logger.debug({ backend, family, reason: describeError(err) }, 'cleanup: back-end not usable, skipped');
        continue;
      }
      try {
        await createIptablesApplier(ipt).cleanup();
        d.logger.info({ backend, family }, 'cleanup: iptables rules removed');
        await cleanupKubeFirewall(ipt, d.logger);
      } catch (err) {
        failures.push(`${backend}/${family}`);
        d.logger.error({ backend, family, err }, 'cleanup failed');
      }
    }
  }
  if (failures.length > 0) throw new KubeProxyError('KP_ERR_RULES_APPLY', `cleanup failed for ${failures.join(', ')}`);
}
