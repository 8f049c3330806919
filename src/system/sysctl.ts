// Reading and writing kernel parameters through /proc/sys, as upstream's pkg/util/sysctl: a value
// is written only when it differs, and every change is logged (operators grep for what the proxy
// touched on their node). The root is injectable so tests use a temporary directory.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../model/logger.ts';

export interface Sysctl {
  /** `net/ipv4/conf/all/route_localnet` style or dotted `net.ipv4.ip_forward`; null when absent. */
  get(key: string): Promise<string | null>;
  /** Write when different; returns whether it changed. */
  ensure(key: string, value: string): Promise<boolean>;
}

const toPath = (key: string): string => key.replaceAll('.', '/');

export function createSysctl(log: Logger, root = '/proc/sys'): Sysctl {
  const get = async (key: string): Promise<string | null> => {
    try {
      return (await readFile(join(root, toPath(key)), 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  return {
    get,
    async ensure(key, value) {
      const old = await get(key);
      if (old === value) return false;
      await writeFile(join(root, toPath(key)), `${value}\n`);
      log.info({ sysctl: key, old, value }, 'sysctl changed');
      return true;
    },
  };
}

/** route_localnet, needed for NodePorts on 127.0.0.1 (upstream iptables proxier, IPv4 only). */
export const ROUTE_LOCALNET = 'net/ipv4/conf/all/route_localnet';
/** Without it, bridged pod-to-pod service traffic bypasses iptables (upstream warns, never sets it). */
export const BRIDGE_NF_CALL_IPTABLES = 'net/bridge/bridge-nf-call-iptables';

/**
 * Upstream's start-up checks for the iptables mode: enable route_localnet when localhost NodePorts
 * are on, and warn when br_netfilter is loaded but bridge-nf-call-iptables is off.
 */
export async function prepareIptablesSysctls(sysctl: Sysctl, log: Logger, localhostNodePorts: boolean): Promise<void> {
  if (localhostNodePorts) await sysctl.ensure(ROUTE_LOCALNET, '1');
  const bridge = await sysctl.get(BRIDGE_NF_CALL_IPTABLES);
  if (bridge !== null && bridge !== '1') {
    log.warn(
      { sysctl: BRIDGE_NF_CALL_IPTABLES, value: bridge },
      'bridge-nf-call-iptables is off: bridged pod-to-service traffic may bypass the rules',
    );
  }
}
