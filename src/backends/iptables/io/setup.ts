// Builds the iptables-mode proxiers for main.ts: takes the back-end detected once (src/wiring/run-iptables-backend.ts), sets
// the sysctls upstream sets (route_localnet), and wires renderer, applier, conntrack and host facts
// per family. The applier ensures a full sync's jumps and canaries with one probe and polls the
// canary in mangle only (ensure-builtins.ts); host addresses come over rtnetlink. `--dry-run` gets
// appliers that print instead of running anything.
import type { ProxyConfig } from '../../../config/types.ts';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily, ProxyState } from '../../../model/types.ts';
import type { BackendMetrics } from '../../../sync/sync-metrics.ts';
import { createConntrack } from '../../../system/conntrack.ts';
import type { Exec } from '../../../system/exec.ts';
import { detectBackend, type BackendChoice } from '../../../system/detect-iptables-backend.ts';
import { createIptables } from '../../../system/iptables.ts';
import { localAddresses, type LocalAddress } from '../../../system/local-addresses.ts';
import { openNetlinkAddressSource } from '../../../system/local-addresses-netlink.ts';
import { createSysctl, prepareIptablesSysctls, type Sysctl } from '../../../system/sysctl.ts';
import { createDryRunApplier, createIptablesApplier, type RulesApplier } from '../../common/iptables-rules-applier.ts';
import { kubeletJumps, requiredJumps, type JumpRule } from '../jumps.ts';
import { renderOptionsFromConfig, type NfacctCounters, type RenderOptions } from '../options.ts';
import { LocalDetectorLog } from '../local-detect-log.ts';
import { IptablesProxier } from '../proxier.ts';
import { withProbedBuiltins } from '../../common/io/ensure-builtins.ts';
import { NO_NFACCT, setUpNfacct } from './nfacct-setup.ts';
import { renderRules, type RenderMemo } from '../render.ts';
import { familyOf } from '../../../model/ip.ts';

export interface IptablesSetup {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly exec: Exec;
  readonly logger: Logger;
  readonly metrics?: BackendMetrics;
  /** Defaults to /proc/sys. */
  readonly sysctl?: Sysctl;
  /** --dry-run output (stdout); required when config.dryRun. */
  readonly write?: (text: string) => void;
  readonly now?: () => number;
  /** The back-end detected once at start (src/wiring/run-iptables-backend.ts); detected here when absent. */
  readonly backend?: BackendChoice;
  /**
   * The node's non-loopback IPs, primary first (src/config/node-ips.ts, from the Node object as
   * upstream). Absent: each family's first non-loopback local address stands in.
   */
  readonly primaryNodeIPs?: readonly string[];
  /** The node's addresses, read on every sync; defaults to rtnetlink dumps in this process's namespace. */
  readonly localAddresses?: (family: IPFamily) => Promise<LocalAddress[]>;
}

/** upstream iptablesJumpChains + iptablesKubeletJumpChains, ensured on every full sync. */
export function iptablesJumps(_family: IPFamily, _opts: RenderOptions): readonly JumpRule[] {
  return [...requiredJumps(), ...kubeletJumps()];
}

/** tcp_be_liberal decides whether the INVALID drop rule is written (upstream conntrack check). */
async function readLiberal(sysctl: Sysctl): Promise<boolean> {
  return (await sysctl.get('net/netfilter/nf_conntrack_tcp_be_liberal')) === '1';
}

export async function createIptablesProxiers(s: IptablesSetup): Promise<IptablesProxier<RenderMemo>[]> {
  const { config, logger, exec } = s;
  const sysctl = s.sysctl ?? createSysctl(logger);
  const dry = config.dryRun;
  let makeApplier: (family: IPFamily) => RulesApplier;
  if (dry) {
    const write = s.write ?? ((text: string) => logger.info({ text }, 'dry-run output'));
    makeApplier = (family) => createDryRunApplier(family, write);
  } else {
    const choice = s.backend ?? (await detectBackend(exec, config.iptables.backend, s.families, logger));
    await prepareIptablesSysctls(sysctl, logger, config.iptables.localhostNodePorts && s.families.includes('IPv4'));
    makeApplier = (family) => {
      const ipt = createIptables(exec, family, choice.backend);
      return withProbedBuiltins(createIptablesApplier(ipt), ipt);
    };
  }
  const liberal = dry ? false : await readLiberal(sysctl);
  // Counters of the network namespace, shared by both families (upstream creates them once per proxier).
  const nfacct = dry ? NO_NFACCT : (await setUpNfacct(logger, s.metrics)).counters;
  const readAddresses = s.localAddresses ?? addressReader(exec, logger);
  // Not in --dry-run, whose stdout is the rules.
  const detectorLog = dry ? undefined : new LocalDetectorLog(logger, config.detectLocalMode);
  return s.families.map(
    (family) =>
      new IptablesProxier<RenderMemo>({
        family,
        applier: makeApplier(family),
        render: renderRules,
        jumps: iptablesJumps,
        renderOptions: async (state: ProxyState) => {
          const opts = await hostOptions(s, readAddresses, family, state, liberal, nfacct);
          detectorLog?.note(family, opts.localDetector);
          return opts;
        },
        ...(dry ? {} : { conntrack: createConntrack(exec) }),
        logger: logger.child({ family, mode: 'iptables' }),
        ...(s.metrics ? { metrics: s.metrics } : {}),
        ...(s.now ? { now: s.now } : {}),
        canaryIntervalMs: config.iptables.syncPeriodMs,
        sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
      }),
  );
}

/**
 * One rtnetlink socket for the process, shared by the families: each sync's read is two dumps
 * instead of an `ip -j addr` process (several ms, the largest per-sync cost of a one-endpoint
 * change after the restore itself). `ip` stays the fallback where netlink cannot be opened.
 */
function addressReader(exec: Exec, logger: Logger): (family: IPFamily) => Promise<LocalAddress[]> {
  try {
    const source = openNetlinkAddressSource();
    return (family) => source.read(family);
  } catch (err) {
    logger.warn({ err }, 'rtnetlink socket unavailable: reading local addresses with ip');
    return (family) => localAddresses(exec, family);
  }
}

async function hostOptions(
  s: IptablesSetup, read: (family: IPFamily) => Promise<LocalAddress[]>, family: IPFamily, state: ProxyState, liberal: boolean,
  nfacct: NfacctCounters,
): Promise<RenderOptions> {
  const addrs = (await read(family)).map((a) => a.ip);
  // The node's primary IPs of this family, from its Node object (a loopback one is left out, so
  // nodePortAddresses "primary" then matches all addresses, as upstream); without that input, the
  // first non-loopback address stands in.
  const nodeIPs = s.primaryNodeIPs !== undefined
    ? s.primaryNodeIPs.filter((ip) => familyOf(ip) === family)
    : addrs.filter((a) => a !== '127.0.0.1' && a !== '::1' && !a.startsWith('fe80:')).slice(0, 1);
  return renderOptionsFromConfig(s.config, family, state.node, {
    nodeIPs,
    localAddresses: addrs,
    // iptables ≥ 1.6.2 has MASQUERADE --random-fully (upstream probes the version); 1.8 is required here.
    randomFully: true,
    conntrackTCPLiberal: liberal,
    // Created at start when the kernel has nfnetlink_acct (nfacct-setup.ts); absent means no match.
    nfacct,
  });
}
