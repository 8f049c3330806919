// What the kernel holds in our table, as read back over netlink at start and after a failure
// (io/read-table.ts): chains with their hook and raw rules, sets and maps (anonymous ones too)
// with their elements. Raw where we compare (rule expressions, element data) so the comparison
// (compare-rules.ts) needs no decoder for every expression the kernel knows. Pure.
import { HOST_LITTLE_ENDIAN, NLA_HDRLEN, NLA_TYPE_MASK, align4 } from '../../../netlink/attrs.ts';
import type { SetHeader } from '../../../netlink/nftables/messages.ts';

export interface KernelRule {
  /** NFTA_RULE_EXPRESSIONS payload (a list of NFTA_LIST_ELEM). */
  readonly exprs: Uint8Array;
  readonly userdata?: Uint8Array;
}

export interface KernelChain {
  readonly name: string;
  readonly hook?: { readonly num: number; readonly priority: number; readonly type: string };
  readonly rules: KernelRule[];
}

export interface KernelElem {
  readonly key: Uint8Array;
  /** NFTA_SET_ELEM_DATA payload (a DATA_VALUE or DATA_VERDICT nest). */
  readonly data?: Uint8Array;
  readonly userdata?: Uint8Array;
}

export interface KernelSet extends SetHeader {
  elements: KernelElem[];
}

export interface KernelTable {
  readonly chains: Map<string, KernelChain>;
  readonly sets: Map<string, KernelSet>;
}

export interface RawAttr {
  /** Type without NLA_F_NESTED / NLA_F_NET_BYTEORDER (the kernel dumps nests without the flag). */
  readonly type: number;
  readonly value: Uint8Array;
}

/** Every attribute of one level, in order, duplicates kept (lists repeat NFTA_LIST_ELEM). */
export function attrList(bytes: Uint8Array): RawAttr[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawAttr[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= bytes.byteLength) {
    const len = view.getUint16(off, HOST_LITTLE_ENDIAN);
    if (len < NLA_HDRLEN || off + len > bytes.byteLength) throw new RangeError(`netlink: malformed attribute at offset ${off} (nla_len ${len})`);
    out.push({ type: view.getUint16(off + 2, HOST_LITTLE_ENDIAN) & NLA_TYPE_MASK, value: bytes.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

export const firstAttr = (attrs: readonly RawAttr[], type: number): Uint8Array | undefined => attrs.find((a) => a.type === type)?.value;

export function be32Of(b: Uint8Array | undefined): number | undefined {
  return b === undefined || b.byteLength < 4 ? undefined : new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
}

export function strOf(b: Uint8Array | undefined): string | undefined {
  if (b === undefined) return undefined;
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
}

export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
