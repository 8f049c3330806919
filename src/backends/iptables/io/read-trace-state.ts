// The live state `kube-proxy-ts trace` reads in the iptables mode: a whole `iptables-save` of the
// family, from whichever back-end (nft or legacy) holds our rules, as the daemon would write them.
import type { TraceReadDeps } from '../../mode-entry.ts';
import { binaries, type XtablesBackend } from '../../../system/iptables.ts';
import { holdsIptablesMode } from '../trace/trace-iptables.ts';

const BACKENDS: readonly XtablesBackend[] = ['nft', 'legacy'];

export const readIptablesTraceState = (d: TraceReadDeps): Promise<string | null> => readSavedHolding(d, holdsIptablesMode);

/** The first back-end's iptables-save that holds a mode's rules (`holds`); the userspace mode's portals too. */
export async function readSavedHolding(d: TraceReadDeps, holds: (saved: string) => boolean): Promise<string | null> {
  for (const backend of BACKENDS) {
    let saved: string;
    try {
      saved = (await d.exec(binaries(d.family, backend).save, [], { timeoutMs: 60_000 })).stdout;
    } catch (err) {
      // This back-end is missing or unusable here (no binary, no kernel support): try the other.
      void err;
      continue;
    }
    if (holds(saved)) return saved;
  }
  return null;
}
