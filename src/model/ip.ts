// IP and CIDR parsing at the edge, with upstream's leniency: netutils.ParseIPSloppy accepts IPv4
// octets with leading zeros as decimal (k8s.io/utils/net), and an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) counts as IPv4 because Go's net.IP.To4() says so. Results are normalised
// strings (RFC 5952 for IPv6) so equal addresses compare equal as strings.
import ipaddr from 'ipaddr.js';
import type { IPFamily } from './types.ts';

export interface ParsedIP {
  readonly ip: string;
  readonly family: IPFamily;
}

export interface ParsedCIDR {
  /** Network address and prefix, e.g. `10.0.0.0/8`. */
  readonly cidr: string;
  readonly family: IPFamily;
}

const IPV4_SLOPPY = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIPv4Sloppy(s: string): ipaddr.IPv4 | undefined {
  const m = IPV4_SLOPPY.exec(s);
  if (m === null) return undefined;
  const octets = [m[1], m[2], m[3], m[4]].map((o) => Number.parseInt(o ?? '', 10));
  if (octets.some((o) => !(o >= 0 && o <= 255))) return undefined;
  return new ipaddr.IPv4(octets);
}

function parseAddress(s: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const v4 = parseIPv4Sloppy(s);
  if (v4 !== undefined) return v4;
  // Only colon forms go to the IPv6 parser: ipaddr.js would otherwise accept `10.1` or hex octets.
  if (!s.includes(':') || !ipaddr.IPv6.isValid(s)) return undefined;
  const v6 = ipaddr.IPv6.parse(s);
  if (v6.zoneId !== undefined) return undefined;
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/** Parse one IP address; undefined when it is not one. */
export function parseIP(s: string): ParsedIP | undefined {
  // Fast path for the common case (every endpoint of every slice passes here).
  const m = IPV4_SLOPPY.exec(s);
  if (m !== null) {
    const octets = [m[1], m[2], m[3], m[4]].map((o) => Number.parseInt(o ?? '', 10));
    return octets.every((o) => o <= 255) ? { ip: octets.join('.'), family: 'IPv4' } : undefined;
  }
  const addr = parseAddress(s);
  if (addr === undefined) return undefined;
  return { ip: addr.toString(), family: addr.kind() === 'ipv4' ? 'IPv4' : 'IPv6' };
}

/**
 * Parse a CIDR and mask it to its network address, as net.ParseCIDR does; a bare IP becomes a
 * host route (/32 or /128), as upstream's LoadBalancerSourceRanges handling accepts both.
 */
export function parseCIDR(s: string): ParsedCIDR | undefined {
  const slash = s.indexOf('/');
  const addrPart = slash < 0 ? s : s.slice(0, slash);
  const addr = parseAddress(addrPart);
  if (addr === undefined) return undefined;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    bits = Number.parseInt(p, 10);
    if (bits > max) return undefined;
  }
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  const net = ipaddr.fromByteArray(bytes);
  return { cidr: `${net.toString()}/${bits}`, family: max === 32 ? 'IPv4' : 'IPv6' };
}

/**
 * The family of an address or CIDR already parsed at the edge (config, the model): IPv6 when it
 * has a colon. The one place that test is written.
 */
export function familyOf(ipOrCidr: string): IPFamily {
  return ipOrCidr.includes(':') ? 'IPv6' : 'IPv4';
}

/** Whether `ip` is inside `cidr` (same family); false for either one unparseable. */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidrStrict(cidr);
  if (c === null || !ipaddr.isValid(ip)) return false;
  const addr = ipaddr.parse(ip);
  return addr.kind() === c[0].kind() && addr.match(c);
}

/** ipaddr.js's CIDR, or null: config validation names bad CIDRs; here a bad one selects nothing. */
export function parseCidrStrict(s: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  try {
    return ipaddr.parseCIDR(s.trim());
  } catch (err) {
    void err;
    return null;
  }
}

/** `ip:port`, or `[ip]:port` for IPv6 (Go's net.JoinHostPort). */
export function joinHostPort(ip: string, port: number | string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
