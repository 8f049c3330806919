// Which iptables back-end to drive, decided as upstream's iptables-wrapper does
// (kubernetes-sigs/iptables-wrappers pkg/xtables/detect.go): kubelet's marker chains in
// `iptables-nft-save -t mangle` mean the host uses nft; the same chains in a full
// `iptables-legacy-save` mean legacy; with no marker, nft. Using the other back-end than the host
// would split the rules over two rule sets that each see only half (kubernetes/kubernetes#71305).
// Ours on top: when nft cannot be used at all (a kernel without nf_tables, such as the IPVS test
// kernel), `auto` falls back to legacy instead of failing every sync.
import type { IptablesBackend } from '../config/types.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily } from '../model/types.ts';
import type { Exec } from './exec.ts';
import { describeError, ExecError } from '../errors.ts';
import { IptablesUnavailableError, binaries, type XtablesBackend } from './iptables.ts';

/** kubelet's chains (KUBE-IPTABLES-HINT since 1.24, KUBE-KUBELET-CANARY before). */
const MARKERS = ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY'] as const;
const hasMarker = (saved: string): boolean => MARKERS.some((m) => saved.includes(`:${m} `));

export interface BackendChoice {
  readonly backend: XtablesBackend;
  /** Why, for the start-up log line. */
  readonly reason: string;
}

async function trySave(exec: Exec, file: string, args: readonly string[]): Promise<string | null> {
  try {
    return (await exec(file, args, { timeoutMs: 30_000 })).stdout;
  } catch (err) {
    // Unusable back-end (missing binary or kernel support); the caller decides what that means.
    void err;
    return null;
  }
}

export async function detectBackend(
  exec: Exec,
  requested: IptablesBackend,
  families: readonly IPFamily[],
  log?: Logger,
): Promise<BackendChoice> {
  const nftSaves: (string | null)[] = [];
  for (const f of families) nftSaves.push(await trySave(exec, binaries(f, 'nft').save, ['-t', 'mangle']));
  const nftUsable = nftSaves.every((s) => s !== null);
  const choice = await decide(exec, requested, families, nftSaves, nftUsable);
  log?.info({ backend: choice.backend, requested, reason: choice.reason }, 'iptables back-end selected');
  return choice;
}

async function decide(
  exec: Exec,
  requested: IptablesBackend,
  families: readonly IPFamily[],
  nftSaves: readonly (string | null)[],
  nftUsable: boolean,
): Promise<BackendChoice> {
  if (requested === 'nft') {
    if (!nftUsable) throw new IptablesUnavailableError('nft back-end requested but iptables-nft-save fails');
    const unwritable = await nftWriteFails(exec, families);
    if (unwritable !== null) throw new IptablesUnavailableError(`nft back-end requested but unusable: ${unwritable}`);
    return { backend: 'nft', reason: 'requested' };
  }
  const legacySaves: (string | null)[] = [];
  for (const f of families) legacySaves.push(await trySave(exec, binaries(f, 'legacy').save, []));
  const legacyUsable = legacySaves.every((s) => s !== null);
  if (requested === 'legacy') {
    if (!legacyUsable) throw new IptablesUnavailableError('legacy back-end requested but iptables-legacy-save fails');
    return { backend: 'legacy', reason: 'requested' };
  }
  if (nftUsable && nftSaves.some((s) => s !== null && hasMarker(s))) {
    return { backend: 'nft', reason: 'kubelet chains found in iptables-nft' };
  }
  if (legacyUsable && legacySaves.some((s) => s !== null && hasMarker(s))) {
    return { backend: 'legacy', reason: 'kubelet chains found in iptables-legacy' };
  }
  const unwritable = nftUsable ? await nftWriteFails(exec, families) : 'iptables-nft-save fails';
  if (unwritable === null) return { backend: 'nft', reason: 'no kubelet chains; nft is the default' };
  if (legacyUsable) return { backend: 'legacy', reason: `nft unusable on this kernel (${unwritable}); falling back to legacy` };
  throw new IptablesUnavailableError('neither iptables-nft-save nor iptables-legacy-save runs');
}

/**
 * Whether the nft back-end accepts a write; null when it does, else the reason. On a kernel
 * without nf_tables (the IPVS test kernel) reads still succeed, as iptables-nft fakes the built-in
 * tables, and only writes fail ("TABLE_ADD failed (Operation not supported)"). The probe creates
 * the mangle canary chain, which the proxiers create anyway once nft is chosen.
 */
async function nftWriteFails(exec: Exec, families: readonly IPFamily[]): Promise<string | null> {
  for (const f of families) {
    try {
      await exec(binaries(f, 'nft').main, ['-w', '5', '-t', 'mangle', '-N', 'KUBE-PROXY-CANARY'], { timeoutMs: 30_000 });
    } catch (err) {
      const stderr = err instanceof ExecError ? err.stderr : '';
      if (/already exists/i.test(stderr)) continue;
      return (stderr.trim().split('\n').pop() ?? '') || describeError(err);
    }
  }
  return null;
}
