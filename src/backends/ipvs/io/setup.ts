// Builds the ipvs-mode proxiers for main.ts (upstream NewDualStackProxier / NewProxier): checks
// that the kernel has IPVS (the generic-netlink family lookup; the error names the modules to
// load), sets the sysctls upstream sets, applies --ipvs-*-timeout, picks the iptables back-end
// (inside the IPVS test kernel only legacy works; detectBackend falls back), and wires one
// applier and the conntrack(8) UDP clean-up per family. --dry-run gets appliers that print and touch nothing.
import { release } from 'node:os';
import type { ProxyConfig } from '../../../config/types.ts';
import { KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily } from '../../../model/types.ts';
import { createConntrack, type Conntrack } from '../../../system/conntrack.ts';
import type { Exec } from '../../../system/exec.ts';
import { detectBackend, type BackendChoice } from '../../../system/detect-iptables-backend.ts';
import type { BackendMetrics } from '../../../sync/sync-metrics.ts';
import { createIptables } from '../../../system/iptables.ts';
import { IpvsClient } from '../../../system/ipvs-client.ts';
import { LinkClient } from '../../../system/link-client.ts';
import { createSysctl, type Sysctl } from '../../../system/sysctl.ts';
import { iptablesLocalMatch, localTrafficDetector } from '../../common/local-detector.ts';
import { masqueradeMark } from '../../common/masquerade-mark.ts';
import { resolveNodePortAddresses } from '../../common/node-port-addresses.ts';
import { createDryRunIpvsApplier, createIpvsApplier, type IpvsApplier } from '../ipvs-applier.ts';
import { IpvsProxier } from '../proxier.ts';
import { ipvsSysctls } from '../sysctls.ts';

/** Upstream's list (KP-README) plus nf_conntrack, which the masquerade rules need. */
export const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack'] as const;

export interface IpvsSetup {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly exec: Exec;
  readonly logger: Logger;
  /** Defaults to /proc/sys. */
  readonly sysctl?: Sysctl;
  /** --dry-run output (stdout); required when config.dryRun. */
  readonly write?: (text: string) => void;
  /** The node's primary IPs, for nodePortAddresses 'primary' (main.ts knows them from the Node). */
  readonly primaryNodeIPs?: readonly string[];
  readonly now?: () => number;
  /** Kernel release for conn_reuse_mode; defaults to os.release(). */
  readonly kernelRelease?: string;
  /** UDP flow deletion; defaults to the conntrack(8) tool (none with --dry-run). */
  readonly conntrack?: Conntrack;
  /** The back-end detected once at start (src/wiring/run-iptables-backend.ts); detected here when absent. */
  readonly backend?: BackendChoice;
  /** Upstream's restore-failure counters (the sync counters are the sync loop's). */
  readonly metrics?: BackendMetrics;
}

/** Opens IPVS, turning "no such generic netlink family" into the message operators need. */
export async function openIpvs(): Promise<IpvsClient> {
  try {
    return await IpvsClient.open();
  } catch (err) {
    if (KubeProxyError.is(err) && err.code === 'KP_ERR_KERNEL_MISSING') {
      throw new KubeProxyError(
        'KP_ERR_KERNEL_MISSING',
        `ipvs mode needs IPVS in the kernel: load the modules ${IPVS_MODULES.join(', ')} (modprobe -a ${IPVS_MODULES.join(' ')}) or use --proxy-mode=iptables`,
        { cause: err },
      );
    }
    throw err;
  }
}

const timer = (fn: () => void, ms: number): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

export async function createIpvsProxiers(s: IpvsSetup): Promise<IpvsProxier[]> {
  const { config, logger, exec } = s;
  const sysctl = s.sysctl ?? createSysctl(logger);
  let makeApplier: (family: IPFamily) => IpvsApplier;
  if (config.dryRun) {
    const write = s.write ?? ((text: string) => logger.info({ text }, 'dry-run output'));
    makeApplier = (family) => createDryRunIpvsApplier(family, write);
  } else {
    // Fail at start-up, with the fix, rather than on every sync.
    const probe = await openIpvs();
    try {
      const t = config.ipvs;
      if (t.tcpTimeoutMs > 0 || t.tcpFinTimeoutMs > 0 || t.udpTimeoutMs > 0) {
        await probe.setTimeouts({ tcp: Math.round(t.tcpTimeoutMs / 1000), tcpFin: Math.round(t.tcpFinTimeoutMs / 1000), udp: Math.round(t.udpTimeoutMs / 1000) });
      }
    } finally {
      probe.close();
    }
    const plan = ipvsSysctls({ kernelRelease: s.kernelRelease ?? release(), strictARP: config.ipvs.strictARP });
    if (plan.warning) logger.warn({ kernel: s.kernelRelease ?? release() }, plan.warning);
    for (const x of plan.settings) await sysctl.ensure(x.key, x.value);
    const choice = s.backend ?? (await detectBackend(exec, config.iptables.backend, s.families, logger));
    const clients = new Map<IPFamily, { ipvs: IpvsClient; links: LinkClient }>();
    for (const f of s.families) clients.set(f, { ipvs: await openIpvs(), links: LinkClient.open() });
    makeApplier = (family) => {
      const c = clients.get(family);
      if (c === undefined) throw new Error(`ipvs: no clients for ${family}`);
      return createIpvsApplier({ family, ...c, iptables: createIptables(exec, family, choice.backend), exec, logger: logger.child({ family, mode: 'ipvs' }) });
    };
  }
  const nodePortAddresses = resolveNodePortAddresses(config.nodePortAddresses, s.primaryNodeIPs ?? []);
  return s.families.map(
    (family) =>
      new IpvsProxier({
        family,
        applier: makeApplier(family),
        logger: logger.child({ family, mode: 'ipvs' }),
        scheduler: config.ipvs.scheduler,
        excludeCIDRs: config.ipvs.excludeCIDRs,
        nodePortAddresses,
        rulesOptions: (state) => ({
          family,
          masqueradeMark: masqueradeMark(config.iptables.masqueradeBit),
          masqueradeAll: config.iptables.masqueradeAll,
          localDetector: iptablesLocalMatch(localTrafficDetector(config, family, state.node)),
          // iptables ≥ 1.6.2 has --random-fully; the image ships 1.8 (as the iptables mode assumes).
          randomFully: true,
        }),
        now: s.now ?? Date.now,
        ...(s.metrics ? { metrics: s.metrics } : {}),
        ...(config.dryRun ? {} : { schedule: timer, conntrack: s.conntrack ?? createConntrack(exec) }),
      }),
  );
}
