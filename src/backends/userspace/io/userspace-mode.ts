// The userspace mode's registry entry (src/backends/modes.ts): the daemon relays TCP/UDP itself,
// with iptables portal rules sending Service traffic to its listeners (upstream v1.25). The proxier
// (listeners, relays) and the tracer are imported when used: other modes never load them.
import { isLoopbackIP } from '../../../config/node-ips.ts';
import { KubeProxyError } from '../../../errors.ts';
import type { IPFamily, Proxier } from '../../../model/types.ts';
import { createIptables } from '../../../system/iptables.ts';
import { localAddresses } from '../../../system/local-addresses.ts';
import { iptablesHostFamilies } from '../../common/io/iptables-families.ts';
import type { ModeEntry, ProxierDeps } from '../../mode-entry.ts';
import { USERSPACE_CHAINS } from '../owned-chains.ts';
import { familyOf } from '../../../model/ip.ts';

export const userspaceMode: ModeEntry = {
  name: 'userspace',
  // The portals are iptables rules: the families whose iptables answers.
  hostFamilies: (d) => iptablesHostFamilies(d.exec, d.config.iptables.backend, d.kernelFamilies, d.logger),
  syncPeriods: (c) => ({ syncPeriodMs: c.iptables.syncPeriodMs, minSyncPeriodMs: c.iptables.minSyncPeriodMs }),
  // userspace predates --init-only upstream and needs nothing beyond the conntrack sysctls.
  initOnly: () => Promise.resolve(),
  createProxiers: createUserspace,
  // Its portal chains are KUBE-* chains, which the iptables entry's --cleanup removes with the rest.
  cleanup: () => Promise.resolve(),
  leftovers: { chains: USERSPACE_CHAINS },
  // The portals, read as the iptables mode reads its rules (an iptables-save of the back-end holding them).
  trace: async () => {
    const [{ holdsUserspaceMode, traceUserspace }, { readSavedHolding }] = await Promise.all([import('../trace/trace-userspace.ts'), import('../../iptables/io/read-trace-state.ts')]);
    return { recognises: holdsUserspaceMode, readState: (d) => readSavedHolding(d, holdsUserspaceMode), trace: traceUserspace };
  },
};

/**
 * The first non-loopback, non-link-local address of the family, if the host has one. Addresses
 * on `lo` come last (an externalIP or VIP held there): a UDP relay bound to all addresses
 * answers host traffic from the route's source address, which is never one on lo, so a DNAT
 * to it left every reply unmatched by conntrack (found by test/node-origin-daemon.test.ts).
 */
async function primaryAddress(d: ProxierDeps, family: IPFamily): Promise<string | undefined> {
  const usable = (await localAddresses(d.exec, family)).filter((a) => a.ip !== '127.0.0.1' && a.ip !== '::1' && !a.ip.startsWith('fe80:'));
  // An address on lo only when the node has no other (a host whose only address of the family is
  // held there, as test/node-ips-daemon.test.ts's node): better than not proxying the family.
  return (usable.find((a) => a.interface !== 'lo') ?? usable[0])?.ip;
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
  const local = await primaryAddress(d, family);
  if (local !== undefined) d.logger.info({ family, hostIP: local }, 'userspace: node IP unknown; host traffic goes to a local address');
  return local;
}

/**
 * The userspace Proxiers. Upstream v1.25 proxied one family, bindAddress's (IPv6 single-stack with
 * bindAddress '::'); here a specific bindAddress still selects its family alone, and an unspecified
 * one ('0.0.0.0', '::', unset) proxies every family of the node, one Proxier each listening on that
 * family's unspecified address, as the iptables mode is dual-stack.
 */
async function createUserspace(d: ProxierDeps): Promise<Proxier[]> {
  if (d.config.dryRun) {
    throw new KubeProxyError('KP_ERR_CONFIG_INVALID', '--dry-run: not supported in userspace mode (its proxy ports are chosen when listening)');
  }
  // Detected once per start by main.ts; only --dry-run has none, refused above.
  const choice = d.backend;
  if (choice === null) throw new KubeProxyError('KP_ERR_SYNC', 'userspace: no iptables back-end was detected');
  const bind = d.config.bindAddress;
  const specific = bind !== '' && bind !== '0.0.0.0' && bind !== '::';
  const families: readonly IPFamily[] = specific ? [familyOf(bind)] : d.families;
  const { createUserspaceProxier } = await import('./proxier.ts');
  const out: Proxier[] = [];
  for (const family of families) {
    const hostIP = specific ? bind : await userspaceHostIP(d, family);
    if (hostIP === undefined) {
      d.logger.warn({ family }, 'userspace: no address of this family on the node; family not proxied');
      continue;
    }
    // The portal rules go to the back-end the node uses, chosen as for the iptables mode.
    out.push(
      createUserspaceProxier({
        family,
        iptables: createIptables(d.exec, family, choice.backend),
        logger: d.logger,
        now: () => Date.now(),
        listenIP: specific ? bind : family === 'IPv6' ? '::' : '0.0.0.0',
        hostIP,
      }),
    );
  }
  return out;
}
