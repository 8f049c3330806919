// The nftables side of modes-side-by-side.bench.ts: the real NftablesProxier, in this process,
// syncing from a ClusterState of the same bench objects the iptables agent uses
// (cluster-fixtures.ts), applying through the `nft` command inside the node namespace (libnftables
// would act on this process's own namespace, the root one, so the daemon's in-process path is not
// used here; docs/nftables.md has both measured at 10k). Each transaction's text is kept for the
// tool-alone baseline.
import { NftablesProxier } from '../src/backends/nftables/proxier.ts';
import { upstreamNftOptions } from '../src/backends/nftables/testing/fixtures.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { exec, type Exec } from '../src/system/exec.ts';
import { createNft, type Nft } from '../src/system/nft.ts';
import { benchClusterState, makeSlice } from './cluster-fixtures.ts';

/** `nft` inside `ns`, killed after `timeoutMs` (a bound for the bench, not the daemon's). */
export function boundedNft(ns: string, timeoutMs: number): Nft {
  const inNs: Exec = (file, args, options) => exec('ip', ['netns', 'exec', ns, file, ...args], { ...options, timeoutMs: Math.min(options?.timeoutMs ?? timeoutMs, timeoutMs) });
  return createNft(inNs);
}

export interface NftablesModeDriver {
  /** A full sync (cold on an empty namespace), ms. */
  full(): Promise<number>;
  /** Service i's first endpoint flips Ready: upsert → snapshot → sync → commit, ms. */
  change(i: number): Promise<number>;
  /** The last transaction's text. */
  lastTransaction(): string;
}

export function nftablesModeDriver(o: { ns: string; services: number; endpoints: number; timeoutMs: number }): NftablesModeDriver {
  const state = benchClusterState(o.services, o.endpoints);
  const nft = boundedNft(o.ns, o.timeoutMs);
  let last = '';
  const opts = upstreamNftOptions('IPv4', {
    batchElements: true,
    masqueradeMark: '0x00004000',
    localDetector: { ifLocal: 'ip saddr 10.244.0.0/16', ifNotLocal: 'ip saddr != 10.244.0.0/16' },
    serviceCIDRs: ['10.96.0.0/16'],
    nodeIP: '192.0.2.1',
    nodePortIPs: ['192.0.2.1'],
  });
  const proxier = new NftablesProxier({
    family: 'IPv4',
    nft: { ...nft, run: (tx: string) => ((last = tx), nft.run(tx)) },
    options: () => opts,
    logger: recordingLogger(),
    probeIntervalMs: 3_600_000,
  });
  const versions = new Map<number, number>();
  const sync = async (full: boolean, change?: () => void): Promise<number> => {
    const t0 = process.hrtime.bigint();
    change?.();
    const snap = state.snapshot('IPv4', { full });
    await proxier.sync(snap);
    state.commit(snap);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  return {
    full: () => sync(true),
    change: (i) => {
      const v = (versions.get(i) ?? 1) + 1;
      versions.set(i, v);
      return sync(false, () => state.upsert('EndpointSlice', makeSlice(i, o.endpoints, v)));
    },
    lastTransaction: () => last,
  };
}
