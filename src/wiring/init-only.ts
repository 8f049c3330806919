// Part of the composition root: `--init-only`, upstream's split of the privileged start-up
// (cmd/kube-proxy/app/options.go InitAndExit): do what needs full root — the conntrack sysctls
// (server_linux.go setupConntrack) and the mode's own kernel settings, which upstream's proxier
// constructors make before returning early on initOnly ("System initialized and --init-only
// specified") — then exit 0, so that an init container does them and the long-running container
// can run with only CAP_NET_ADMIN. No source is started and no rule is written. Unlike upstream
// (whose NewProxyServer builds the API client and, since v1.33, waits for its Node first), nothing
// here talks to the API server: the node IPs do not change any of these settings.
import { release } from 'node:os';
import { ipvsSysctls } from '../backends/ipvs/sysctls.ts';
import type { ProxyConfig } from '../config/types.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily } from '../model/types.ts';
import type { IpvsTimeouts } from '../netlink/ipvs.ts';
import { prepareIptablesSysctls, type Sysctl } from '../system/sysctl.ts';
import { applyConntrackSysctls } from './conntrack.ts';

/** The IPVS handle init-only needs: opening it is the kernel check (the error names the modules). */
export interface IpvsTimeoutSetter {
  setTimeouts(t: IpvsTimeouts): Promise<void>;
  close(): void;
}

export interface InitOnlyDeps {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly sysctl: Sysctl;
  readonly logger: Logger;
  readonly numCPU: number;
  /** ipvs mode: opens IPVS (src/backends/ipvs/io/setup.ts openIpvs). */
  readonly openIpvs: () => Promise<IpvsTimeoutSetter>;
  readonly kernelRelease?: string;
}

export async function runInitOnly(d: InitOnlyDeps): Promise<void> {
  const { config, sysctl, logger } = d;
  // Failures here are logged and not fatal, as in a normal start.
  await applyConntrackSysctls(config, sysctl, logger, d.numCPU);
  switch (config.mode) {
    case 'iptables':
      // upstream iptables NewProxier: route_localnet for localhost NodePorts (IPv4 only).
      await prepareIptablesSysctls(sysctl, logger, config.iptables.localhostNodePorts && d.families.includes('IPv4'));
      break;
    case 'ipvs':
      await initIpvs(d);
      break;
    case 'userspace':
    case 'nftables':
      // userspace predates --init-only upstream and needs nothing beyond conntrack; nftables is refused earlier.
      break;
  }
  logger.info({ mode: config.mode }, 'System initialized and --init-only specified');
}

/** upstream ipvs NewProxier up to its initOnly return: IPVS present, its sysctls, --ipvs-*-timeout. */
async function initIpvs(d: InitOnlyDeps): Promise<void> {
  const ipvs = await d.openIpvs();
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
