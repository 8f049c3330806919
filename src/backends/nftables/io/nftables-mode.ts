// The nftables mode's registry entry (src/backends/modes.ts): upstream's `kube-proxy` table in
// families ip and ip6, one `nft -f -` transaction per family per sync. It writes no iptables
// chains, so starting in it removes every iptables-based mode's chains; the other modes remove
// its table (leftovers.removeState), and --cleanup deletes both families' tables. The proxier and
// the tracer are imported when used: other modes never load them, the daemon never the tracer.
import { primaryNodeIPs } from '../../../config/node-ips.ts';
import { describeError, KubeProxyError } from '../../../errors.ts';
import type { IPFamily } from '../../../model/types.ts';
import { createNft } from '../../../system/nft.ts';
import type { HostFamilyDeps, ModeEntry } from '../../mode-entry.ts';
import { deleteNftablesTables } from './leftovers.ts';

/**
 * As upstream's getNFTablesInterface per family: a family whose table cannot be created is skipped
 * with a log line, none at all is fatal. --dry-run touches nothing: every kernel family.
 */
async function nftHostFamilies(d: HostFamilyDeps): Promise<IPFamily[]> {
  if (d.config.dryRun) return [...d.kernelFamilies];
  const nft = createNft(d.exec);
  const out: IPFamily[] = [];
  const errors: string[] = [];
  for (const family of d.kernelFamilies) {
    try {
      await nft.check(`add table ${family === 'IPv6' ? 'ip6' : 'ip'} kube-proxy\n`);
      out.push(family);
    } catch (err) {
      errors.push(`${family}: ${describeError(err)}`);
      d.logger.warn({ family, reason: describeError(err) }, 'no nftables support for this family; not proxied');
    }
  }
  if (out.length === 0) {
    throw new KubeProxyError('KP_ERR_KERNEL_MISSING', `nftables mode: nf_tables cannot be used (nft command from Debian package nftables; kernel modules nf_tables, nft_chain_nat, nft_fib_inet, nft_numgen, nft_ct): ${errors.join('; ')}`);
  }
  return out;
}

export const nftablesMode: ModeEntry = {
  name: 'nftables',
  hostFamilies: nftHostFamilies,
  syncPeriods: (c) => ({ syncPeriodMs: c.nftables.syncPeriodMs, minSyncPeriodMs: c.nftables.minSyncPeriodMs }),
  // upstream nftables NewProxier returns right after its nftables checks with --init-only.
  initOnly: () => Promise.resolve(),
  createProxiers: async (d) =>
    (await import('./setup.ts')).createNftablesProxiers({
      config: d.config,
      families: d.families,
      exec: d.exec,
      logger: d.logger,
      ...(d.metrics ? { metrics: d.metrics } : {}),
      ...(d.write ? { write: d.write } : {}),
      primaryNodeIPs: primaryNodeIPs(d.nodeIPs, d.families),
    }),
  cleanup: (d) => deleteNftablesTables(d.exec, ['IPv4', 'IPv6'], d.logger),
  checksDrift: true,
  // upstream platformApplyDefaults: nftables never serves NodePorts on every local IP by default.
  configDefaults: { nodePortAddresses: ['primary'] },
  leftovers: { removeState: (d) => deleteNftablesTables(d.exec, [d.family], d.logger) },
  trace: async () => {
    const [{ holdsNftablesMode, traceNftables }, { readNftablesTraceState }] = await Promise.all([import('../trace/trace-nftables.ts'), import('./read-trace-state.ts')]);
    return { recognises: holdsNftablesMode, readState: readNftablesTraceState, trace: traceNftables };
  },
};
