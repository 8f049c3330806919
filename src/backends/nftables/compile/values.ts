// Values of our transaction text as nf_tables data: addresses (network order), inet_proto (one
// byte), inet_service (big-endian u16), host-order u32 (marks, numgen indices, fib results), and
// concatenations, whose members are each padded to 4 bytes (nft's netlink_gen_concat_data). Pure.
import ipaddr from 'ipaddr.js';
import { HOST_LITTLE_ENDIAN } from '../../../netlink/attrs.ts';
import { ipToBytes } from '../../../netlink/ip.ts';
import { TYPE_INETPROTO, TYPE_INETSERVICE, TYPE_IP6ADDR, TYPE_IPADDR } from '../../../netlink/nftables/constants.ts';

export type NfFamily = 'ip' | 'ip6';
export type Field = 'addr' | 'proto' | 'port';

const PROTOS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** Address of the table's family, or null (wrong family or not an address). */
export function addrBytes(text: string, fam: NfFamily): Uint8Array | null {
  if (fam === 'ip' ? !ipaddr.IPv4.isValidFourPartDecimal(text) : !ipaddr.IPv6.isValid(text) || text.includes('.')) return null;
  try {
    return ipToBytes(text);
  } catch {
    return null;
  }
}

export const protoNumber = (text: string): number | null => PROTOS[text] ?? null;

export function portNumber(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

export function hostU32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, HOST_LITTLE_ENDIAN);
  return b;
}

export function be16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

/** One field's bytes (unpadded), or null when the text is not a value of that type. */
export function fieldBytes(field: Field, text: string, fam: NfFamily): Uint8Array | null {
  if (field === 'addr') return addrBytes(text, fam);
  if (field === 'proto') {
    const p = protoNumber(text);
    return p === null ? null : Uint8Array.of(p);
  }
  const p = portNumber(text);
  return p === null ? null : be16(p);
}

/** Members padded to 4 bytes each, as nft lays out a concatenation in registers. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + ((p.byteLength + 3) & ~3), 0);
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += (p.byteLength + 3) & ~3;
  }
  return out;
}

/** `a . b . c` of the given field types; null when a member does not parse. */
export function concatKey(text: string, fields: readonly Field[], fam: NfFamily): Uint8Array | null {
  const parts = text.split(' . ');
  if (parts.length !== fields.length) return null;
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < parts.length; i++) {
    const b = fieldBytes(fields[i] as Field, parts[i] as string, fam);
    if (b === null) return null;
    bytes.push(b);
  }
  return fields.length === 1 ? (bytes[0] as Uint8Array) : concat(bytes);
}

export const addrType = (fam: NfFamily): number => (fam === 'ip' ? TYPE_IPADDR : TYPE_IP6ADDR);
export const addrLen = (fam: NfFamily): number => (fam === 'ip' ? 4 : 16);
export { TYPE_INETPROTO, TYPE_INETSERVICE };

/** `10.0.0.0/8` or a bare address: the bytes nft compares and the mask of the last one, or null. */
export function prefixMatch(text: string, fam: NfFamily): { bytes: Uint8Array; mask: Uint8Array | null } | null {
  const [ip, bitsText] = text.split('/');
  const full = addrBytes(ip ?? '', fam);
  if (full === null) return null;
  const bits = bitsText === undefined ? full.byteLength * 8 : portNumber(bitsText);
  if (bits === null || bits === 0 || bits > full.byteLength * 8) return null;
  // nft loads only the prefix's bytes when it ends on a byte; otherwise the whole address, masked.
  const aligned = bits % 8 === 0;
  const len = aligned ? bits / 8 : full.byteLength;
  const mask = new Uint8Array(len);
  for (let i = 0; i < len; i++) mask[i] = i < Math.floor(bits / 8) ? 0xff : i === Math.floor(bits / 8) ? (0xff << (8 - (bits % 8))) & 0xff : 0;
  const bytes = full.slice(0, len);
  // Host bits set: nft would mask them; we leave such text to nft.
  for (let i = 0; i < len; i++) if (((bytes[i] as number) & ~(mask[i] as number)) !== 0) return null;
  for (let i = len; i < full.byteLength; i++) if (full[i] !== 0) return null;
  return { bytes, mask: aligned ? null : mask };
}
