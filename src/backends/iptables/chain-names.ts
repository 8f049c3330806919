// Upstream's chain naming (pkg/proxy/iptables/proxier.go portProtoHash,
// servicePortEndpointChainName): sha256 of the service port name + lower-case protocol
// (+ endpoint "IP:port"), standard base32, first 16 characters. Names must match upstream
// byte for byte so a node can switch between kube-proxy and us without orphaned chains.
import { sha256 } from '@noble/hashes/sha2.js';
import type { Protocol, ServicePortName } from '../../model/types.ts';
import { sha256AsciiHead } from './sha256-ascii.ts';
import { joinHostPort } from '../../model/ip.ts';

export const SVC_PREFIX = 'KUBE-SVC-';
export const SVL_PREFIX = 'KUBE-SVL-';
export const EXT_PREFIX = 'KUBE-EXT-';
export const FW_PREFIX = 'KUBE-FW-';
export const SEP_PREFIX = 'KUBE-SEP-';
const SERVICE_CHAIN_PREFIXES = [SVC_PREFIX, SVL_PREFIX, EXT_PREFIX, FW_PREFIX, SEP_PREFIX] as const;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const encoder = new TextEncoder();

const head = new Int32Array(3);
const B32 = Uint8Array.from(BASE32, (ch) => ch.charCodeAt(0));

/** First 16 base32 characters of sha256(input): 16 × 5 bits = the first 10 digest bytes. */
export function hash16(input: string): string {
  if (!sha256AsciiHead(input, head)) return hash16Bytes(sha256(encoder.encode(input)));
  const w0 = head[0] as number;
  const w1 = head[1] as number;
  const w2 = head[2] as number;
  // 80 bits as 16 groups of 5: w0 holds groups 0-5 and the top 2 bits of group 6, and so on.
  const c = (v: number): number => B32[v & 31] as number;
  return String.fromCharCode(
    c(w0 >>> 27), c(w0 >>> 22), c(w0 >>> 17), c(w0 >>> 12), c(w0 >>> 7), c(w0 >>> 2), c((w0 << 3) | (w1 >>> 29)), c(w1 >>> 24),
    c(w1 >>> 19), c(w1 >>> 14), c(w1 >>> 9), c(w1 >>> 4), c((w1 << 1) | (w2 >>> 31)), c(w2 >>> 26), c(w2 >>> 21), c(w2 >>> 16),
  );
}

function hash16Bytes(d: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; i < 10; i++) {
    value = (value << 8) | (d[i] ?? 0);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

export function protocolLower(protocol: Protocol): string {
  return protocol === 'TCP' ? 'tcp' : protocol === 'UDP' ? 'udp' : 'sctp';
}

/** The 16-character hash shared by a service port's SVC/SVL/EXT/FW chains. */
export function servicePortHash(name: ServicePortName, protocol: Protocol): string {
  return hash16(name + protocolLower(protocol));
}

/** `IP:port`, IPv6 bracketed (upstream BaseEndpointInfo.String()): model/ip.ts joinHostPort. */
export { joinHostPort };

export function endpointChainName(name: ServicePortName, protocol: Protocol, endpoint: string): string {
  return SEP_PREFIX + hash16(name + protocolLower(protocol) + endpoint);
}

export interface ServiceChainNames {
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
}

export function serviceChainNames(name: ServicePortName, protocol: Protocol): ServiceChainNames {
  const h = servicePortHash(name, protocol);
  return { svc: SVC_PREFIX + h, svl: SVL_PREFIX + h, ext: EXT_PREFIX + h, fw: FW_PREFIX + h };
}

/** Upstream isServiceChainName: the chains stale-chain clean-up may delete. */
export function isServiceChainName(chain: string): boolean {
  for (const p of SERVICE_CHAIN_PREFIXES) if (chain.startsWith(p)) return true;
  return false;
}
