// Address syntax as the Go standard library reads it (net.ParseIP, net.ParseCIDR,
// net.SplitHostPort), which is what upstream's validation applies to config and flags. ipaddr.js
// does the parsing; we only narrow it to Go's stricter forms (no octal/hex IPv4, no zones).
import ipaddr from 'ipaddr.js';
import type { IPFamily } from '../model/types.ts';
import type { HostPort } from './types.ts';

export type { IPFamily };

/** The family of a textual IP address, or null if Go's net.ParseIP would refuse it. */
export function ipFamily(text: string): IPFamily | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return 'IPv4';
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) return 'IPv6';
  return null;
}

export function isIP(text: string): boolean {
  return ipFamily(text) !== null;
}

/** The family of a CIDR (`10.0.0.0/8`, `fd00::/64`), or null if net.ParseCIDR would refuse it. */
export function cidrFamily(text: string): IPFamily | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const family = ipFamily(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  if (family === null || !/^\d{1,3}$/.test(prefix)) return null;
  return Number(prefix) <= (family === 'IPv4' ? 32 : 128) ? family : null;
}

export function isCIDR(text: string): boolean {
  return cidrFamily(text) !== null;
}

/** net.SplitHostPort: `host:port` or `[host]:port`; the host may be empty. null when malformed. */
export function splitHostPort(text: string): { host: string; port: string } | null {
  if (text.startsWith('[')) {
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
    return m ? { host: m[1] ?? '', port: m[2] ?? '' } : null;
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.indexOf(':') !== colon) return null;
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/**
 * proxyutil.AppendPortIfNeeded (pkg/proxy/util/utils.go): a bare IP gets the default port; an
 * address that already has one, or that is not an IP at all, is returned for validation to judge.
 */
export function appendPortIfNeeded(addr: string, port: number): string {
  if (splitHostPort(addr) !== null) return addr;
  const family = ipFamily(addr);
  if (family === null) return addr;
  return family === 'IPv4' ? `${addr}:${port}` : `[${addr}]:${port}`;
}

/** Split `host:port` into a HostPort; the caller validates the host and the port's range. */
export function parseHostPort(text: string): HostPort | null {
  const parts = splitHostPort(text);
  if (parts === null || !/^\d{1,5}$/.test(parts.port)) return null;
  return { host: parts.host, port: Number(parts.port) };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
