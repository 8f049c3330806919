// The expression-level IR of an nf_tables rule (what `nft --debug=netlink` prints, one bracketed
// line per expression) and its netlink encoding (include/uapi/linux/netfilter/nf_tables.h,
// NFTA_*_ attributes of each expression). Attribute order is libnftnl's, so an encoded rule is
// byte-for-byte what nft sends for the same text (tests compare with `nft --debug=mnl`). Pure.
import { NLA_F_NESTED, type Attr } from '../attrs.ts';
import { NFT_GOTO, NFT_JUMP, NF_ACCEPT, NF_DROP, NFTA_DATA_VALUE, NFTA_DATA_VERDICT, NFTA_VERDICT_CHAIN, NFTA_VERDICT_CODE } from './constants.ts';

export type PayloadBase = 'network' | 'transport';
export type MetaKey = 'l4proto' | 'mark' | 'iifname';
export type VerdictCode = 'goto' | 'jump' | 'drop' | 'accept';

export interface Verdict {
  readonly code: VerdictCode;
  readonly chain?: string;
}

export type Expr =
  | { readonly kind: 'payload'; readonly base: PayloadBase; readonly offset: number; readonly len: number; readonly dreg: number }
  | { readonly kind: 'meta'; readonly key: MetaKey; readonly dreg: number }
  | { readonly kind: 'meta-set'; readonly key: MetaKey; readonly sreg: number }
  | { readonly kind: 'cmp'; readonly op: 'eq' | 'neq'; readonly sreg: number; readonly data: Uint8Array }
  /** `op` present: libnftnl sends NFTA_BITWISE_OP (nft does for `mark set mark or`, not for prefixes). */
  | { readonly kind: 'bitwise'; readonly sreg: number; readonly dreg: number; readonly mask: Uint8Array; readonly xor: Uint8Array; readonly op?: 'bool' }
  | { readonly kind: 'immediate'; readonly dreg: number; readonly data: Uint8Array }
  | { readonly kind: 'verdict'; readonly verdict: Verdict }
  | { readonly kind: 'numgen'; readonly dreg: number; readonly modulus: number }
  /** `setId`: an anonymous set created in the same batch; named sets are found by name. */
  | { readonly kind: 'lookup'; readonly sreg: number; readonly set: string; readonly setId?: number; readonly dreg?: number }
  | { readonly kind: 'nat'; readonly family: number; readonly addrReg: number; readonly protoReg: number; readonly flags?: number }
  | { readonly kind: 'fib-saddr-type'; readonly dreg: number }
  | { readonly kind: 'dynset-update'; readonly sreg: number; readonly set: string };

export const PAYLOAD_BASE: Readonly<Record<PayloadBase, number>> = { network: 1, transport: 2 };
export const META_KEY: Readonly<Record<MetaKey, number>> = { mark: 3, iifname: 6, l4proto: 16 };
const VERDICT_CODE: Readonly<Record<VerdictCode, number>> = { goto: NFT_GOTO, jump: NFT_JUMP, drop: NF_DROP, accept: NF_ACCEPT };

const be32 = (type: number, v: number): Attr => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, false);
  return { type, value: b };
};
const str = (type: number, s: string): Attr => {
  const e = new TextEncoder().encode(s);
  const b = new Uint8Array(e.length + 1);
  b.set(e);
  return { type, value: b };
};
/** nf_tables marks every nested attribute with NLA_F_NESTED (libnftnl's mnl_attr_nest_start). */
export const nest = (type: number, children: readonly Attr[]): Attr => ({ type: type | NLA_F_NESTED, value: children });
export const nfAttr = { be32, str, nest, bytes: (type: number, value: Uint8Array): Attr => ({ type, value }) };

export const dataValue = (type: number, v: Uint8Array): Attr => nest(type, [{ type: NFTA_DATA_VALUE, value: v }]);

export function verdictData(type: number, v: Verdict): Attr {
  const inner: Attr[] = [be32(NFTA_VERDICT_CODE, VERDICT_CODE[v.code])];
  if (v.chain !== undefined) inner.push(str(NFTA_VERDICT_CHAIN, v.chain));
  return nest(type, [nest(NFTA_DATA_VERDICT, inner)]);
}

const named = (name: string, data: readonly Attr[]): Attr => nest(1, [str(1, name), nest(2, data)]);

/** One NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS. */
export function encodeExpr(e: Expr): Attr {
  switch (e.kind) {
    case 'payload':
      return named('payload', [be32(1, e.dreg), be32(2, PAYLOAD_BASE[e.base]), be32(3, e.offset), be32(4, e.len)]);
    case 'meta':
      return named('meta', [be32(2, META_KEY[e.key]), be32(1, e.dreg)]);
    case 'meta-set':
      return named('meta', [be32(2, META_KEY[e.key]), be32(3, e.sreg)]);
    case 'cmp':
      return named('cmp', [be32(1, e.sreg), be32(2, e.op === 'eq' ? 0 : 1), dataValue(3, e.data)]);
    case 'bitwise':
      return named('bitwise', [
        be32(1, e.sreg), be32(2, e.dreg), ...(e.op === 'bool' ? [be32(6, 0)] : []), be32(3, e.mask.byteLength),
        dataValue(4, e.mask), dataValue(5, e.xor),
      ]);
    case 'immediate':
      return named('immediate', [be32(1, e.dreg), dataValue(2, e.data)]);
    case 'verdict':
      return named('immediate', [be32(1, 0), verdictData(2, e.verdict)]);
    case 'numgen':
      // NFT_NG_RANDOM = 1, offset 0.
      return named('numgen', [be32(1, e.dreg), be32(2, e.modulus), be32(3, 1), be32(4, 0)]);
    case 'lookup':
      return named('lookup', [
        be32(2, e.sreg), ...(e.dreg !== undefined ? [be32(3, e.dreg)] : []), str(1, e.set), ...(e.setId !== undefined ? [be32(4, e.setId)] : []),
      ]);
    case 'nat':
      // NFT_NAT_DNAT = 1; NFTA_NAT_FAMILY 2, REG_ADDR_MIN 3, REG_PROTO_MIN 5, FLAGS 7.
      return named('nat', [be32(1, 1), be32(2, e.family), be32(3, e.addrReg), be32(5, e.protoReg), ...(e.flags !== undefined ? [be32(7, e.flags)] : [])]);
    case 'fib-saddr-type':
      // NFTA_FIB_FLAGS 3 = NFTA_FIB_F_SADDR, NFTA_FIB_RESULT 2 = NFT_FIB_RESULT_ADDRTYPE.
      return named('fib', [be32(3, 1), be32(2, 3), be32(1, e.dreg)]);
    case 'dynset-update':
      // NFTA_DYNSET_SREG_KEY 4, OP 3 = NFT_DYNSET_OP_UPDATE, SET_NAME 1.
      return named('dynset', [be32(4, e.sreg), be32(3, 1), str(1, e.set)]);
  }
}
