// Upstream's nftables object names (pkg/proxy/nftables/proxier.go hashAndTruncate,
// servicePortChainNameBase, servicePortEndpointChainNameBase): `HASH8-ns/svc/proto/port`, where
// HASH8 is the first 8 characters of base32(sha256(name)); endpoint names append `__IP/port`
// with IPv6 `:` written as `.`. Names over 240 characters are cut to 237 plus `...`, comments
// to 128 bytes (knftables NameLengthMax - prefix, CommentLengthMax; #139516 in v1.37).
import type { Protocol } from '../../model/types.ts';
import { hash16, protocolLower } from '../iptables/chain-names.ts';

export const TABLE = 'kube-proxy';
const NAME_BASE_MAX = 256 - 16;
const COMMENT_MAX = 128;

export const PREFIX = {
  service: 'service-',
  local: 'local-',
  external: 'external-',
  endpoint: 'endpoint-',
  affinity: 'affinity-',
  firewall: 'firewall-',
} as const;

/**
 * Kubernetes names are DNS labels, which nft accepts in names as they are. A name the API
 * server would have refused (manifests, fuzz) has its other characters replaced, so one odd
 * object cannot make the whole transaction unparsable.
 */
function safe(part: string): string {
  return /^[a-z0-9A-Z_.-]*$/.test(part) ? part : part.replace(/[^a-z0-9A-Z_.-]/g, '_');
}

export function hashAndTruncate(name: string): string {
  const out = `${hash16(name).slice(0, 8)}-${name}`;
  return out.length > NAME_BASE_MAX ? `${out.slice(0, NAME_BASE_MAX - 3)}...` : out;
}

export function portChainBase(namespace: string, service: string, protocol: Protocol, portName: string): string {
  return hashAndTruncate(`${safe(namespace)}/${safe(service)}/${protocolLower(protocol)}/${safe(portName)}`);
}

export function endpointChainBase(namespace: string, service: string, protocol: Protocol, portName: string, ip: string, port: number): string {
  const epIP = ip.includes(':') ? ip.replaceAll(':', '.') : ip;
  return hashAndTruncate(`${safe(namespace)}/${safe(service)}/${protocolLower(protocol)}/${safe(portName)}__${safe(epIP)}/${port}`);
}

/** Upstream isServiceChainName: only per-service chains have a `/`. */
export function isServiceChainName(chain: string): boolean {
  return chain.includes('/');
}

export function isAffinitySetName(set: string): boolean {
  return set.startsWith(PREFIX.affinity);
}

const utf8 = new TextEncoder();

/**
 * A quoted nft comment: at most 128 bytes (upstream truncateNFTablesComment), and without the
 * characters nft's quoted strings cannot hold (a `"` or a control character ends the string).
 */
export function nftComment(text: string): string {
  let s = text.replace(/["\\\p{Cc}]/gu, '_');
  if (utf8.encode(s).length > COMMENT_MAX) {
    while (utf8.encode(s).length > COMMENT_MAX) s = s.slice(0, -1);
  }
  return `"${s}"`;
}
