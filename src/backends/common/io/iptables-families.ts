// Part of the composition root: which IP families iptables can be used for on this host, as
// upstream's platformCheckSupported (cmd/kube-proxy/app/server_linux.go) and the iptables/ipvs
// back-ends' NewBackend do: each family's iptables is probed (utiliptables Present(): the nat
// table answers); a family without it is skipped with a log line instead of failing the whole
// proxy, none at all is fatal, and so is the primary family's missing (server.go: "no support for
// primary IP family"). Without this a node missing IPv4 iptables (an IPv6-only host image, a
// kernel without iptable_nat) or IPv6 ip6tables did not start at all.
import type { IptablesBackend } from '../../../config/types.ts';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily } from '../../../model/types.ts';
import { describeError } from '../../../errors.ts';
import type { Exec } from '../../../system/exec.ts';
import { binaries, IptablesUnavailableError, type XtablesBackend } from '../../../system/iptables.ts';

/** One family's probe: null when some allowed back-end answered, else why none did. */
export interface FamilyProbe {
  readonly family: IPFamily;
  readonly error: string | null;
}

/** The back-ends a family may be served by: the requested one, or either with `auto`. */
function candidates(requested: IptablesBackend): readonly XtablesBackend[] {
  return requested === 'auto' ? ['nft', 'legacy'] : [requested];
}

/**
 * `<iptables> -t nat -S POSTROUTING 1` per family and allowed back-end, until one answers: as
 * upstream's Present() (the nat table's POSTROUTING chain can be listed). One rule at most, not the
 * table: on a node already running at 10k Services an `iptables-save -t nat` is ~30 MB, all of it
 * read at start for a yes/no.
 */
export async function probeIptablesFamilies(exec: Exec, requested: IptablesBackend, families: readonly IPFamily[]): Promise<FamilyProbe[]> {
  const out: FamilyProbe[] = [];
  for (const family of families) {
    const errors: string[] = [];
    for (const backend of candidates(requested)) {
      const bin = binaries(family, backend).main;
      try {
        await exec(bin, ['-w', '-t', 'nat', '-S', 'POSTROUTING', '1'], { timeoutMs: 30_000 });
        errors.length = 0;
        break;
      } catch (err) {
        errors.push(`${bin}: ${describeError(err)}`);
      }
    }
    out.push({ family, error: errors.length === 0 ? null : errors.join('; ') });
  }
  return out;
}

/** The families to proxy: those whose probe answered; throws when none did. */
export function supportedFamilies(probes: readonly FamilyProbe[], logger: Logger): IPFamily[] {
  const ok = probes.filter((p) => p.error === null).map((p) => p.family);
  if (ok.length === 0) {
    throw new IptablesUnavailableError(`not available on this host: ${probes.map((p) => p.error ?? '').join('; ')}`);
  }
  for (const p of probes) if (p.error !== null) logger.info({ ipFamily: p.family, error: p.error }, 'no iptables support for this family; not proxied');
  return ok;
}

/** Upstream refuses to run without its primary family (the node IP's). */
export function requirePrimaryFamily(primary: IPFamily, families: readonly IPFamily[]): void {
  if (!families.includes(primary)) throw new IptablesUnavailableError(`no support for primary IP family ${primary}`);
}

/** The families of `kernelFamilies` iptables works for here (the probe above, then supportedFamilies). */
export async function iptablesHostFamilies(exec: Exec, requested: IptablesBackend, kernelFamilies: readonly IPFamily[], logger: Logger): Promise<IPFamily[]> {
  return supportedFamilies(await probeIptablesFamilies(exec, requested, kernelFamilies), logger);
}
