// The source addresses `trace` uses when --from names a kind of client rather than an address:
// a pod (an address near the top of the cluster CIDR, unlikely to be an endpoint itself, so the
// trace does not show a hairpin by accident) and an off-node client (documentation ranges,
// RFC 5737 / RFC 3849, which no cluster uses). Pure.
import ipaddr from 'ipaddr.js';
import type { IPFamily } from '../model/types.ts';

export const EXTERNAL_CLIENT: Readonly<Record<IPFamily, string>> = { IPv4: '198.51.100.200', IPv6: '2001:db8:ffff::10' };

/** When the rules name no cluster CIDR (interface or no local detector). */
export const FALLBACK_POD: Readonly<Record<IPFamily, string>> = { IPv4: '10.244.255.254', IPv6: 'fd00:10:244::fffe' };

/** The last address but one of `cidr` (`10.244.0.0/16` -> `10.244.255.254`); null when not a CIDR. */
export function podAddressIn(cidr: string): string | null {
  if (!ipaddr.isValidCIDR(cidr)) return null;
  const [net, bits] = ipaddr.parseCIDR(cidr);
  const bytes = net.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const hostBits = Math.min(8, Math.max(0, (i + 1) * 8 - bits));
    bytes[i] = ((bytes[i] as number) | ((1 << hostBits) - 1)) & 0xff;
  }
  if (bits >= bytes.length * 8 - 1) return net.toString();
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) - 1;
  return ipaddr.fromByteArray(bytes).toString();
}
