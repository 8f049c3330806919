// --nodeport-addresses as every mode reads it (upstream proxyutil.NewNodePortAddresses): the
// keywords resolved to CIDRs, and which of a family's local addresses they select. Pure.
import { cidrContains, familyOf } from '../../model/ip.ts';
import type { IPFamily } from '../../model/types.ts';

/** Resolve the keywords 'primary' (node IPs as /32, /128) and 'localhost' (loopback CIDRs). */
export function resolveNodePortAddresses(raw: readonly string[], nodeIPs: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of raw) {
    if (s === 'primary') for (const ip of nodeIPs) out.push(familyOf(ip) === 'IPv6' ? `${ip}/128` : `${ip}/32`);
    else if (s === 'localhost') out.push('127.0.0.0/8', '::1/128');
    else out.push(s);
  }
  return out;
}

/** The resolved CIDRs of one family. */
export function nodePortCIDRsOf(cidrs: readonly string[], family: IPFamily): string[] {
  return cidrs.filter((c) => familyOf(c) === family);
}

/** The candidates inside one of `cidrs`; all of them when `cidrs` (of this family) is empty. */
export function selectByCIDRs(candidates: readonly string[], cidrs: readonly string[]): string[] {
  return cidrs.length === 0 ? [...candidates] : candidates.filter((a) => cidrs.some((c) => cidrContains(c, a)));
}
