// Part of the composition root (main.ts): builds the proxiers of the chosen mode, and the
// clean-up of every mode's leftovers (--cleanup, as upstream's CleanupLeftovers runs the
// iptables, ipvs and nftables clean-ups whatever the configured mode).
import { createIptablesProxiers, type IptablesSetup } from '../backends/iptables/io/setup.ts';
import { createIptablesApplier } from '../backends/iptables/iptables-applier.ts';
import { cleanupKubeFirewall } from '../backends/iptables/io/kube-firewall-cleanup.ts';
import { createIpvsProxiers, type IpvsSetup } from '../backends/ipvs/io/setup.ts';
import { createIpvsApplier } from '../backends/ipvs/ipvs-applier.ts';
import { createUserspaceProxier } from '../backends/userspace/index.ts';
import type { ProxyConfig } from '../config/types.ts';
import { describeError, KubeProxyError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily, Proxier } from '../model/types.ts';
import type { BackendMetrics } from '../sync/sync-metrics.ts';
import type { Exec } from '../system/exec.ts';
import { binaries, createIptables, type XtablesBackend } from '../system/iptables.ts';
import { detectBackend, type BackendChoice } from '../system/iptables-backend.ts';
import { IpvsClient } from '../system/ipvs-client.ts';
import { LinkClient } from '../system/link-client.ts';
import { localAddresses } from '../system/local-addresses.ts';
import { createSysctl } from '../system/sysctl.ts';
import { isLoopbackIP, primaryNodeIPs, type NodeIPs } from '../config/node-ips.ts';
import type { BackendInput } from './iptables-backend.ts';

export interface ProxierDeps {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly exec: Exec;
  readonly logger: Logger;
  readonly metrics?: BackendMetrics;
  /** --dry-run output. */
  readonly write?: (text: string) => void;
  /** The back-end detected once at start (iptables-backend.ts); null for --dry-run. */
  readonly backend: BackendChoice | null;
  /** The node's IPs, from its Node object or bindAddress (node-ips.ts). */
  readonly nodeIPs: NodeIPs;
}

/** What the setups take beside BackendInput: the node's primary IPs (upstream NodeIPs). */
interface NodeIPInput {
  readonly primaryNodeIPs?: readonly string[];
}

/** The first non-loopback, non-link-local address of the family: the hostIP when the node IP is unknown. */
async function primaryAddress(exec: Exec, family: IPFamily): Promise<string> {
  const addrs = await localAddresses(exec, family);
  const ip = addrs.map((a) => a.ip).find((a) => a !== '127.0.0.1' && a !== '::1' && !a.startsWith('fe80:'));
  if (ip === undefined) throw new KubeProxyError('KP_ERR_CONFIG_INVALID', `no non-loopback ${family} address on this host`);
  return ip;
}

/**
 * Where host-originated traffic to a portal is DNATed: the node's address of the family (bindAddress
 * or the Node's), which upstream's userspace proxier took from bindAddress or the default-route
 * interface; a local address when the node IP is unknown (loopback would need route_localnet);
 * undefined when the node has no usable address of the family.
 */
async function userspaceHostIP(d: ProxierDeps, family: IPFamily): Promise<string | undefined> {
  const ip = d.nodeIPs.byFamily[family];
  if (ip !== undefined && !isLoopbackIP(ip)) return ip;
  try {
    const local = await primaryAddress(d.exec, family);
    d.logger.info({ family, hostIP: local }, 'userspace: node IP unknown; host traffic goes to a local address');
    return local;
  } catch (err) {
    if (KubeProxyError.is(err) && err.code === 'KP_ERR_CONFIG_INVALID') return undefined;
    throw err;
  }
}

/**
 * The userspace Proxiers. Upstream v1.25 proxied one family, bindAddress's (IPv6 single-stack with
 * bindAddress '::'); here a specific bindAddress still selects its family alone, and an unspecified
 * one ('0.0.0.0', '::', unset) proxies every family of the node, one Proxier each listening on that
 * family's unspecified address, as the iptables mode is dual-stack.
 */
async function createUserspace(d: ProxierDeps): Promise<Proxier[]> {
  const bind = d.config.bindAddress;
  const specific = bind !== '' && bind !== '0.0.0.0' && bind !== '::';
  const families: readonly IPFamily[] = specific ? [bind.includes(':') ? 'IPv6' : 'IPv4'] : d.families;
  const out: Proxier[] = [];
  for (const family of families) {
    const hostIP = specific ? bind : await userspaceHostIP(d, family);
    if (hostIP === undefined) {
      d.logger.warn({ family }, 'userspace: no address of this family on the node; family not proxied');
      continue;
    }
    // The portal rules go to the back-end the node uses, chosen as for the iptables mode.
    const { backend } = d.backend ?? (await detectBackend(d.exec, d.config.iptables.backend, [family], d.logger));
    const bin = binaries(family, backend);
    out.push(
      createUserspaceProxier({
        family,
        exec: d.exec,
        logger: d.logger,
        now: () => Date.now(),
        listenIP: specific ? bind : family === 'IPv6' ? '::' : '0.0.0.0',
        hostIP,
        restoreCommand: bin.restore,
        saveCommand: bin.save,
      }),
    );
  }
  return out;
}

export async function createProxiers(d: ProxierDeps): Promise<Proxier[]> {
  const { config, logger } = d;
  const nodeIPs = primaryNodeIPs(d.nodeIPs, d.families);
  switch (config.mode) {
    case 'iptables': {
      // `backend` takes effect once the setup reads it (see BackendInput); until then it detects again.
      // `primaryNodeIPs` likewise replaces the setup's guess from local addresses once it reads it.
      const setup: IptablesSetup & BackendInput & NodeIPInput = {
        config,
        families: d.families,
        exec: d.exec,
        logger,
        ...(d.metrics ? { metrics: d.metrics } : {}),
        ...(d.write ? { write: d.write } : {}),
        ...(d.backend ? { backend: d.backend } : {}),
        primaryNodeIPs: nodeIPs,
      };
      return createIptablesProxiers(setup);
    }
    case 'userspace': {
      if (config.dryRun) {
        throw new KubeProxyError('KP_ERR_CONFIG_INVALID', '--dry-run: not supported in userspace mode (its proxy ports are chosen when listening)');
      }
      return createUserspace(d);
    }
    case 'ipvs': {
      const setup: IpvsSetup & BackendInput = {
        config,
        families: d.families,
        exec: d.exec,
        logger,
        ...(d.write ? { write: d.write } : {}),
        primaryNodeIPs: nodeIPs,
        ...(d.backend ? { backend: d.backend } : {}),
      };
      return createIpvsProxiers(setup);
    }
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
  // IPVS first: it finds its NodePort virtual servers through our ipsets, which go with the chains.
  try {
    await cleanupIpvs(d);
  } catch (err) {
    failures.push('ipvs');
    d.logger.error({ err }, 'cleanup failed');
  }
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
        await cleanupKubeFirewall(ipt, d.logger);
      } catch (err) {
        failures.push(`${backend}/${family}`);
        d.logger.error({ backend, family, err }, 'cleanup failed');
      }
    }
  }
  if (failures.length > 0) throw new KubeProxyError('KP_ERR_RULES_APPLY', `cleanup failed for ${failures.join(', ')}`);
}

/** The ipvs mode's virtual servers, kube-ipvs0, chains and ipsets; nothing when the kernel has no IPVS. */
async function cleanupIpvs(d: { exec: Exec; logger: Logger }): Promise<void> {
  let ipvs: IpvsClient;
  try {
    ipvs = await IpvsClient.open();
  } catch (err) {
    if (KubeProxyError.is(err) && err.code === 'KP_ERR_KERNEL_MISSING') {
      d.logger.debug({ reason: describeError(err) }, 'cleanup: no IPVS in this kernel, skipped');
      return;
    }
    throw err;
  }
  const links = LinkClient.open();
  try {
    const { backend } = await detectBackend(d.exec, 'auto', ['IPv4'], d.logger);
    // Both families: each removes its own virtual servers, addresses, chains and sets; the last
    // one removes kube-ipvs0 (ipvs-applier.ts cleanup).
    for (const family of ['IPv4', 'IPv6'] as const) {
      const applier = createIpvsApplier({
        family,
        ipvs,
        links,
        iptables: createIptables(d.exec, family, backend),
        exec: d.exec,
        sysctl: createSysctl(d.logger),
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
