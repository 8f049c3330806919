// Part of the composition root: applies the conntrack sysctls (config/conntrack-sysctls.ts) at
// start-up, as upstream's setupConntrack. None is fatal: outside the host's network namespace
// nf_conntrack_max is read-only (upstream logs and carries on: errReadOnlySysFS), and a missing
// nf_conntrack module leaves the keys absent.
import { conntrackSysctls } from '../config/conntrack-sysctls.ts';
import type { ProxyConfig } from '../config/types.ts';
import type { Logger } from '../model/logger.ts';
import type { Sysctl } from '../system/sysctl.ts';

const READ_ONLY = new Set(['EACCES', 'EROFS', 'EPERM']);

/** Returns the keys that could not be set. */
export async function applyConntrackSysctls(config: ProxyConfig, sysctl: Sysctl, logger: Logger, numCPU: number): Promise<string[]> {
  const failed: string[] = [];
  for (const { key, value } of conntrackSysctls(config.conntrack, numCPU)) {
    try {
      if ((await sysctl.get(key)) === null) {
        logger.warn({ sysctl: key }, 'conntrack sysctl absent (nf_conntrack not loaded?); not set');
        failed.push(key);
        continue;
      }
      await sysctl.ensure(key, value);
    } catch (err) {
      failed.push(key);
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (READ_ONLY.has(code)) logger.warn({ sysctl: key, value, code }, 'conntrack sysctl is read-only here; not set');
      else logger.error({ sysctl: key, value, err }, 'setting conntrack sysctl failed');
    }
  }
  return failed;
}
