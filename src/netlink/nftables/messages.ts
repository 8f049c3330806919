// nf_tables messages of one batch, by name and without a cache: add/flush/delete chain, add rule
// (appended), add/delete set, add/delete set elements, anonymous sets (NFTA_SET_ID, referenced by
// the rule that follows them in the same batch). The batch is NFNL_MSG_BATCH_BEGIN, the messages,
// NFNL_MSG_BATCH_END in one datagram (nfnetlink_rcv_batch: all or nothing). Pure.
import { attrsLength, writeAttrs, type Attr } from '../attrs.ts';
import { NLM_F_APPEND, NLM_F_CREATE } from '../message.ts';
import {
  NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NFT_MSG_DELCHAIN, NFT_MSG_DELRULE, NFT_MSG_DELSET,
  NFT_MSG_DELSETELEM, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE,
  NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_TABLE, NFTA_RULE_USERDATA, NFTA_SET_DATA_LEN, NFTA_SET_DATA_TYPE,
  NFTA_SET_DESC, NFTA_SET_DESC_SIZE, NFTA_SET_ELEM_DATA, NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_SET_ID, NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_USERDATA, NFTA_SET_FLAGS, NFTA_SET_ID, NFTA_SET_KEY_LEN,
  NFTA_SET_KEY_TYPE, NFTA_SET_NAME, NFTA_SET_TABLE, NFTA_SET_TIMEOUT, NFTA_SET_USERDATA, nftType,
} from './constants.ts';
import { dataValue, encodeExpr, nfAttr, verdictData, type Expr, type Verdict } from './expr.ts';

export interface SetElem {
  readonly key: Uint8Array;
  readonly data?: Uint8Array | Verdict;
  /** Element comment (NFTNL_UDATA_SET_ELEM_COMMENT). */
  readonly comment?: string;
}

/** A set's definition, as written (SetSpec) and as a dump reads it back (adopt/kernel-table.ts). */
export interface SetHeader {
  readonly name: string;
  readonly flags: number;
  readonly keyType: number;
  readonly keyLen: number;
  readonly dataType?: number;
  readonly dataLen?: number;
  readonly timeoutMs?: bigint;
}

export interface SetSpec extends SetHeader {
  readonly id: number;
  /** NFTA_SET_DESC_SIZE (anonymous sets: their element count). */
  readonly size?: number;
  /** nft's set userdata (key/data byte order, typeof): `nft list` formats the elements from it. */
  readonly userdata: Uint8Array;
}

export type NftCommand =
  | { readonly op: 'add-chain'; readonly chain: string }
  | { readonly op: 'flush-chain'; readonly chain: string }
  | { readonly op: 'delete-chain'; readonly chain: string }
  | { readonly op: 'add-rule'; readonly chain: string; readonly exprs: readonly Expr[]; readonly comment?: string }
  | { readonly op: 'add-set'; readonly set: SetSpec }
  | { readonly op: 'delete-set'; readonly set: string }
  | { readonly op: 'add-elements' | 'delete-elements'; readonly set: string; readonly setId?: number; readonly elements: readonly SetElem[] };

export interface NftMessage {
  readonly type: number;
  readonly flags: number;
  readonly payload: Uint8Array;
}

/** nftnl_udata TLVs: u8 type, u8 length, value. */
export function udata(items: readonly (readonly [number, Uint8Array])[]): Uint8Array {
  const out: number[] = [];
  for (const [t, v] of items) out.push(t, v.byteLength, ...v);
  return Uint8Array.from(out);
}
const cstr = (s: string): Uint8Array => {
  const e = new TextEncoder().encode(s);
  const b = new Uint8Array(e.length + 1);
  b.set(e);
  return b;
};
/** A comment as rule or element userdata (type 0 = NFTNL_UDATA_RULE_COMMENT / _SET_ELEM_COMMENT). */
export const commentUdata = (comment: string): Uint8Array => udata([[0, cstr(comment)]]);

function payload(family: number, attrs: readonly Attr[]): Uint8Array {
  // struct nfgenmsg { u8 nfgen_family; u8 version (NFNETLINK_V0); __be16 res_id; }
  const out = new Uint8Array(4 + attrsLength(attrs));
  out[0] = family;
  writeAttrs(out, 4, attrs);
  return out;
}

const { be32, str, nest, bytes } = nfAttr;

/** `index`: libnftnl numbers the element list's entries 1, 2, … (the kernel ignores the type). */
function elem(e: SetElem, index: number): Attr {
  const inner: Attr[] = [dataValue(NFTA_SET_ELEM_KEY, e.key)];
  if (e.data instanceof Uint8Array) inner.push(dataValue(NFTA_SET_ELEM_DATA, e.data));
  else if (e.data !== undefined) inner.push(verdictData(NFTA_SET_ELEM_DATA, e.data));
  if (e.comment !== undefined) inner.push(bytes(NFTA_SET_ELEM_USERDATA, commentUdata(e.comment)));
  return nest(index + 1, inner);
}

function be64(type: number, v: bigint): Attr {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, false);
  return { type, value: b };
}

function setAttrs(table: string, s: SetSpec): Attr[] {
  const a: Attr[] = [str(NFTA_SET_TABLE, table), str(NFTA_SET_NAME, s.name), be32(NFTA_SET_FLAGS, s.flags), be32(NFTA_SET_KEY_TYPE, s.keyType), be32(NFTA_SET_KEY_LEN, s.keyLen)];
  if (s.dataType !== undefined) a.push(be32(NFTA_SET_DATA_TYPE, s.dataType), be32(NFTA_SET_DATA_LEN, s.dataLen ?? 0));
  a.push(be32(NFTA_SET_ID, s.id));
  if (s.timeoutMs !== undefined) a.push(be64(NFTA_SET_TIMEOUT, s.timeoutMs));
  if (s.size !== undefined) a.push(nest(NFTA_SET_DESC, [be32(NFTA_SET_DESC_SIZE, s.size)]));
  a.push(bytes(NFTA_SET_USERDATA, s.userdata));
  return a;
}

/** One command as its message (type, the flags nft gives it, payload). */
export function encodeCommand(family: number, table: string, c: NftCommand): NftMessage {
  switch (c.op) {
    case 'add-chain':
      return { type: nftType(NFT_MSG_NEWCHAIN), flags: NLM_F_CREATE, payload: payload(family, [str(NFTA_CHAIN_TABLE, table), str(NFTA_CHAIN_NAME, c.chain)]) };
    case 'delete-chain':
      return { type: nftType(NFT_MSG_DELCHAIN), flags: 0, payload: payload(family, [str(NFTA_CHAIN_TABLE, table), str(NFTA_CHAIN_NAME, c.chain)]) };
    case 'flush-chain':
      // DELRULE naming a chain and no handle deletes every rule of the chain.
      return { type: nftType(NFT_MSG_DELRULE), flags: 0, payload: payload(family, [str(NFTA_RULE_TABLE, table), str(NFTA_RULE_CHAIN, c.chain)]) };
    case 'add-rule': {
      const a: Attr[] = [str(NFTA_RULE_TABLE, table), str(NFTA_RULE_CHAIN, c.chain), nest(NFTA_RULE_EXPRESSIONS, c.exprs.map(encodeExpr))];
      if (c.comment !== undefined) a.push(bytes(NFTA_RULE_USERDATA, commentUdata(c.comment)));
      return { type: nftType(NFT_MSG_NEWRULE), flags: NLM_F_CREATE | NLM_F_APPEND, payload: payload(family, a) };
    }
    case 'add-set':
      return { type: nftType(NFT_MSG_NEWSET), flags: NLM_F_CREATE, payload: payload(family, setAttrs(table, c.set)) };
    case 'delete-set':
      return { type: nftType(NFT_MSG_DELSET), flags: 0, payload: payload(family, [str(NFTA_SET_TABLE, table), str(NFTA_SET_NAME, c.set)]) };
    case 'add-elements':
    case 'delete-elements': {
      // No name (set '' with an id): the kernel finds the set by id among this batch's new objects
      // instead of walking every set of the table by name (nft_set_lookup_global).
      const a: Attr[] = [str(NFTA_SET_ELEM_LIST_TABLE, table), ...(c.set !== '' ? [str(NFTA_SET_ELEM_LIST_SET, c.set)] : [])];
      if (c.setId !== undefined) a.push(be32(NFTA_SET_ELEM_LIST_SET_ID, c.setId));
      a.push(nest(NFTA_SET_ELEM_LIST_ELEMENTS, c.elements.map((e, i) => elem(e, i))));
      const add = c.op === 'add-elements';
      return { type: nftType(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM), flags: add ? NLM_F_CREATE : 0, payload: payload(family, a) };
    }
  }
}

/** NFNL_MSG_BATCH_BEGIN / _END: nfgenmsg with res_id = NFNL_SUBSYS_NFTABLES (big-endian). */
export function batchMarker(end: boolean): NftMessage {
  return { type: end ? NFNL_MSG_BATCH_END : NFNL_MSG_BATCH_BEGIN, flags: 0, payload: Uint8Array.of(0, 0, 0, NFNL_SUBSYS_NFTABLES) };
}
