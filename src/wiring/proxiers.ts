// Part of the composition root (main.ts): builds the proxiers of the chosen mode, and the
// clean-up of every mode's leftovers (--cleanup, as upstream's CleanupLeftovers runs the
// iptables, ipvs and nftables clean-ups whatever the configured mode).
import { createIptablesProxiers } from '../backends/iptables/io/setup.ts';
import { createIptablesApplier } from '../backends/iptables/iptables-applier.ts';
import { createUserspaceProxier } from '../backends/userspace/index.ts';
import type { ProxyConfig } from '../config/types.ts';
import { describeError, KubeProxyError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily, Proxier } from '../model/types.ts';
import type { BackendMetrics } from '../sync/sync-metrics.ts';
import type { Exec } from '../system/exec.ts';
import { createIptables, type XtablesBackend } from '../system/iptables.ts';
import { localAddresses } from '../system/local-addresses.ts';

export interface ProxierDeps {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly exec: Exec;
  readonly logger: Logger;
  readonly metrics?: BackendMetrics;
  /** --dry-run output. */
  readonly write?: (text: string) => void;
}

/** The first non-loopback, non-link-local address of the family: upstream's hostIP fallback. */
async function primaryAddress(exec: Exec, family: IPFamily): Promise<string> {
  const addrs = await localAddresses(exec, family);
  const ip = addrs.map((a) => a.ip).find((a) => a !== '127.0.0.1' && a !== '::1' && !a.startsWith('fe80:'));
  if (ip === undefined) throw new KubeProxyError('KP_ERR_CONFIG_INVALID', `no non-loopback ${family} address on this host`);
  return ip;
}

export async function createProxiers(d: ProxierDeps): Promise<Proxier[]> {
  const { config, logger } = d;
  switch (config.mode) {
    case 'iptables':
      return createIptablesProxiers({
        config,
        families: d.families,
        exec: d.exec,
        logger,
        ...(d.metrics ? { metrics: d.metrics } : {}),
        ...(d.write ? { write: d.write } : {}),
      });
    case 'userspace': {
      if (config.dryRun) {
        throw new KubeProxyError('KP_ERR_CONFIG_INVALID', '--dry-run: not supported in userspace mode (its proxy ports are chosen when listening)');
      }
      const bind = config.bindAddress;
      return [
        createUserspaceProxier({
          family: 'IPv4',
          exec: d.exec,
          logger,
          now: () => Date.now(),
          listenIP: bind === '' ? '0.0.0.0' : bind,
          hostIP: bind !== '' && bind !== '0.0.0.0' ? bind : await primaryAddress(d.exec, 'IPv4'),
        }),
      ];
    }
    case 'ipvs':
      throw new KubeProxyError('KP_ERR_CONFIG_INVALID', 'mode: ipvs is not available in this build');
    case 'nftables':
      throw new KubeProxyError('KP_ERR_CONFIG_INVALID', 'mode: nftables is not implemented yet');
  }
}

/**
 * --cleanup: remove every KUBE-* chain and the rules jumping to them, in both iptables back-ends
 * and both families, leaving everything else alone. A back-end that cannot be used here (no
 * binary, no kernel support) has nothing of ours to remove and is skipped with a debug line.
 */
export async function cleanupAllModes(d: { exec: Exec; logger: Logger }): Promise<void> {
  const failures: string[] = [];
  for (const backend of ['legacy', 'nft'] as XtablesBackend[]) {
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
      } catch (err) {
        failures.push(`${backend}/${family}`);
        d.logger.error({ backend, family, err }, 'cleanup failed');
      }
    }
  }
  if (failures.length > 0) throw new KubeProxyError('KP_ERR_RULES_APPLY', `cleanup failed for ${failures.join(', ')}`);
}
