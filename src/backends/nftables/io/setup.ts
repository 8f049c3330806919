// Builds the nftables-mode proxiers for main.ts: start-up checks (kernel >= 5.13 unless
// KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK is set, as upstream since v1.33 #130401; nft >=
// 1.0.1, knftables' floor; a table can be created, which proves nf_tables), then one proxier
// per family with its host facts (local addresses over rtnetlink, the node's primary IPs, the
// ServiceCIDRs). `--dry-run` gets a runner that prints each transaction instead (stdout) and
// touches nothing, so it needs no root.
import { release } from 'node:os';
import type { ProxyConfig } from '../../../config/types.ts';
import { KubeProxyError, describeError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily, ProxyState } from '../../../model/types.ts';
import type { BackendMetrics } from '../../../sync/sync-metrics.ts';
import { createConntrack } from '../../../system/conntrack.ts';
import type { Exec } from '../../../system/exec.ts';
import { localAddresses, type LocalAddress } from '../../../system/local-addresses.ts';
import { openNetlinkAddressSource } from '../../../system/local-addresses-netlink.ts';
import { loadLibNftables } from '../../../../native/libnftables.ts';
import { createNft, type InProcessNft, type Nft } from '../../../system/nft.ts';
import { nftOptionsFromConfig } from '../options.ts';
import { NftablesProxier, type NftRunner } from '../proxier.ts';
import { openNftNetlinkWriter, type NftNetlinkWriter } from './netlink-writer.ts';

export interface NftablesSetup {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly exec: Exec;
  readonly logger: Logger;
  readonly metrics?: BackendMetrics;
  /** --dry-run output (stdout). */
  readonly write?: (text: string) => void;
  /** The node's non-loopback IPs, primary first (config/node-ips.ts). */
  readonly primaryNodeIPs?: readonly string[];
  /** false: every transaction through the nft command, never libnftables in this process. */
  readonly inProcess?: boolean;
  /** ServiceCIDRs (parsed CIDRs, any family) for the unallocated-ClusterIP drop rule; none: no rule. */
  readonly serviceCIDRs?: (state: ProxyState) => readonly string[];
  readonly localAddresses?: (family: IPFamily) => Promise<LocalAddress[]>;
  /** Defaults to os.release() and process.env. */
  readonly kernelRelease?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const MIN_KERNEL: readonly [number, number] = [5, 13];
const MIN_NFT: readonly [number, number, number] = [1, 0, 1];

const older = (a: readonly number[], b: readonly number[]): boolean => {
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) < (b[i] as number);
  return false;
};

/** upstream getNFTablesInterface / knftables.New checks, each failure one clear line. */
export async function checkNftables(nft: Nft, s: Pick<NftablesSetup, 'families' | 'logger' | 'kernelRelease' | 'env'>): Promise<void> {
  const env = s.env ?? process.env;
  const kernel = s.kernelRelease ?? release();
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if ((env.KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK ?? '') !== '') {
    s.logger.info({ kernel }, 'nftables: kernel version check skipped (KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK)');
  } else if (m === null || older([Number(m[1]), Number(m[2])], MIN_KERNEL)) {
    throw new KubeProxyError('KP_ERR_KERNEL_MISSING', `nftables mode needs kernel >= 5.13, this is ${kernel} (set KUBE_PROXY_NFTABLES_SKIP_KERNEL_VERSION_CHECK=1 to try anyway)`);
  }
  let version: [number, number, number];
  try {
    version = await nft.version();
  } catch (err) {
    throw new KubeProxyError('KP_ERR_KERNEL_MISSING', `nftables mode needs the nft command (Debian package nftables): ${describeError(err)}`, { cause: err });
  }
  if (older(version, MIN_NFT)) {
    throw new KubeProxyError('KP_ERR_KERNEL_MISSING', `nftables mode needs nft >= 1.0.1, found ${version.join('.')}`);
  }
  for (const family of s.families) {
    const fam = family === 'IPv6' ? 'ip6' : 'ip';
    try {
      await nft.check(`add table ${fam} kube-proxy\n`);
    } catch (err) {
      throw new KubeProxyError('KP_ERR_KERNEL_MISSING', `nf_tables cannot be used for ${family} (module nf_tables, nft_chain_nat, nft_fib, nft_numgen, nft_ct needed): ${describeError(err)}`, { cause: err });
    }
  }
}

/**
 * ProxyState.serviceCIDRs: the ServiceCIDR objects' ranges of the family (model/cluster-state.ts).
 * A change makes the sync full there, and the options key (render.ts) rewrites the drop rule.
 */
function stateServiceCIDRs(state: ProxyState): readonly string[] {
  return state.serviceCIDRs ?? [];
}

function dryRunner(write: (text: string) => void): NftRunner {
  return {
    run: (tx) => Promise.resolve(write(tx)),
    listObjects: () => Promise.resolve(null),
    chainsPresent: () => Promise.resolve(true),
    deleteTable: () => Promise.resolve(),
  };
}

function addressReader(exec: Exec, logger: Logger): (family: IPFamily) => Promise<LocalAddress[]> {
  try {
    const source = openNetlinkAddressSource();
    return (family) => source.read(family);
  } catch (err) {
    logger.warn({ err }, 'rtnetlink socket unavailable: reading local addresses with ip');
    return (family) => localAddresses(exec, family);
  }
}

/** libnftables when it loads (one endpoint change ~1.8x faster at 10k, native/libnftables.ts), else the nft command. */
function inProcessNft(logger: Logger): InProcessNft | undefined {
  if (process.env.KUBE_PROXY_TS_NFT_COMMAND === '1') return undefined;
  const lib = loadLibNftables();
  if ('unavailable' in lib) {
    logger.info({ reason: lib.unavailable }, 'libnftables unavailable; applying transactions with the nft command');
    return undefined;
  }
  logger.info('applying nftables transactions through libnftables in-process');
  return (tx, dryRun) => lib.run(tx, dryRun);
}

/** Our nf_tables netlink writer for partial syncs, unless KUBE_PROXY_TS_NFT_NETLINK=0 or it cannot open. */
function netlinkWriter(logger: Logger, env: Readonly<Record<string, string | undefined>>): NftNetlinkWriter | undefined {
  if (env.KUBE_PROXY_TS_NFT_NETLINK === '0') return undefined;
  try {
    const w = openNftNetlinkWriter();
    logger.info('partial nftables syncs through our nf_tables netlink batch (KUBE_PROXY_TS_NFT_NETLINK=0 turns it off)');
    return w;
  } catch (err) {
    logger.warn({ err, reason: describeError(err) }, 'nf_tables netlink socket unavailable: partial syncs through nft');
    return undefined;
  }
}

export async function createNftablesProxiers(s: NftablesSetup): Promise<NftablesProxier[]> {
  const { config, logger, exec } = s;
  const dry = config.dryRun;
  const nft = createNft(exec, 'nft', dry || s.inProcess === false ? undefined : inProcessNft(logger));
  if (!dry) await checkNftables(nft, s);
  const runner: NftRunner = dry ? dryRunner(s.write ?? ((text) => logger.info({ text }, 'dry-run output'))) : nft;
  // Same namespace rule as libnftables: it writes to this process's network namespace.
  const netlink = dry || s.inProcess === false ? undefined : netlinkWriter(logger, s.env ?? process.env);
  const read = dry ? () => Promise.resolve([]) : (s.localAddresses ?? addressReader(exec, logger));
  return s.families.map((family) => {
    const v6 = family === 'IPv6';
    return new NftablesProxier({
      family,
      nft: runner,
      ...(netlink ? { netlink } : {}),
      options: async (state) => {
        const addrs = (await read(family)).map((a) => a.ip);
        const nodeIPs = s.primaryNodeIPs !== undefined
          ? s.primaryNodeIPs.filter((ip) => ip.includes(':') === v6)
          : addrs.filter((a) => a !== '127.0.0.1' && a !== '::1' && !a.startsWith('fe80:')).slice(0, 1);
        return nftOptionsFromConfig(config, family, state.node, {
          nodeIPs,
          localAddresses: dry ? nodeIPs : addrs,
          serviceCIDRs: s.serviceCIDRs?.(state) ?? stateServiceCIDRs(state),
        });
      },
      ...(dry ? {} : { conntrack: createConntrack(exec) }),
      logger: logger.child({ family, mode: 'nftables' }),
      ...(s.metrics ? { metrics: s.metrics } : {}),
      probeIntervalMs: config.nftables.syncPeriodMs,
    });
  });
}
