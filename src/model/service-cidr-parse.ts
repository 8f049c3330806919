// V1ServiceCIDR → the ranges ClusterIPs are allocated from (networking.k8s.io/v1, spec.cidrs: at
// most one per family). Upstream's ServiceCIDRConfig hands every ServiceCIDR's cidrs to the
// proxier unchecked (pkg/proxy/config/config.go); we parse at the edge, and an object with a
// missing or invalid range is dropped whole with one error, so a half-read object never narrows
// what the nftables mode treats as service addresses.
import type { V1ServiceCIDR } from '@kubernetes/client-node';
import { ObjectError } from '../errors.ts';
import { parseCIDR } from './ip.ts';
import type { ParsedCIDR } from './ip.ts';

export function parseServiceCIDR(obj: V1ServiceCIDR): { cidrs: readonly ParsedCIDR[]; errors: ObjectError[] } {
  const fail = (reason: string) => ({ cidrs: [], errors: [new ObjectError(`ServiceCIDR ${obj.metadata?.name ?? ''}`, reason)] });
  const raw: unknown = obj.spec?.cidrs;
  if (!Array.isArray(raw) || raw.length === 0) return fail('spec.cidrs: no CIDR');
  const cidrs: ParsedCIDR[] = [];
  for (const [i, c] of raw.entries()) {
    const parsed = typeof c === 'string' && c.includes('/') ? parseCIDR(c) : undefined;
    if (parsed === undefined) return fail(`spec.cidrs[${i}]: invalid CIDR ${JSON.stringify(c)}`);
    if (cidrs.some((p) => p.family === parsed.family)) return fail(`spec.cidrs[${i}]: a second ${parsed.family} CIDR`);
    cidrs.push(parsed);
  }
  return { cidrs, errors: [] };
}
