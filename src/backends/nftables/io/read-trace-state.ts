// The live state `kube-proxy-ts trace` reads in the nftables mode: `nft -j list table` of the
// family's `kube-proxy` table, the JSON a saved `nft -j list ruleset` also holds.
import type { TraceReadDeps } from '../../mode-entry.ts';
import { holdsNftablesMode } from '../trace/nft-json.ts';

export async function readNftablesTraceState(d: TraceReadDeps): Promise<string | null> {
  let out: string;
  try {
    out = (await d.exec('nft', ['-j', 'list', 'table', d.family === 'IPv6' ? 'ip6' : 'ip', 'kube-proxy'], { timeoutMs: 60_000 })).stdout;
  } catch (err) {
    // No nft binary, no nf_tables, or no table of ours in this family: nothing of this mode here.
    void err;
    return null;
  }
  return holdsNftablesMode(out) ? out : null;
}
