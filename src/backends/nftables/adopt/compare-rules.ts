// A rule we would write (compiled by compile/rule.ts to the expressions nft sends) against one the
// kernel dumps, expression by expression. The kernel re-serializes what it stored, so it can add
// attributes we never send (NFTA_LOOKUP_FLAGS 0, NFTA_NAT_REG_*_MAX equal to *_MIN, a dynset's
// zero timeout): an attribute only the kernel has is accepted when it is all zeros or repeats a
// sibling's value; every attribute we send must be there with the same bytes. An anonymous set
// (`__map%d` with a batch id) is resolved on both sides and compared by definition and elements.
// Pure.
import { encodeAttrs, type Attr } from '../../../netlink/attrs.ts';
import { commentUdata, type NftCommand, type SetElem } from '../../../netlink/nftables/messages.ts';
import { encodeExpr, verdictData } from '../../../netlink/nftables/expr.ts';
import type { CompiledRule } from '../compile/rule.ts';
import { attrList, firstAttr, hex, strOf, type KernelRule, type KernelSet, type RawAttr } from './kernel-table.ts';

const NFTA_LOOKUP_SET = 1;
const NFTA_LOOKUP_SET_ID = 4;
const NFTA_NAT_FLAGS = 7;
const NFT_DATA_VERDICT = 0xffffff00;

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** Ours (an Attr tree) against the kernel's raw level. `skip`: our attribute types not compared here. */
function sameLevel(ours: readonly Attr[], kernel: readonly RawAttr[], skip: ReadonlySet<number> = new Set()): boolean {
  const seen = new Set<number>();
  for (const a of ours) {
    const t = a.type & 0x3fff;
    seen.add(t);
    if (skip.has(t)) continue;
    const k = firstAttr(kernel, t);
    if (k === undefined) return false;
    if (a.value instanceof Uint8Array) {
      if (!equalBytes(a.value, k)) return false;
    } else if (!sameLevel(a.value, attrList(k))) return false;
  }
  for (const k of kernel) {
    if (seen.has(k.type)) continue;
    if (!isZero(k.value) && !kernel.some((o) => o !== k && equalBytes(o.value, k.value))) return false;
  }
  return true;
}

/** An element as a comparable string: key, value or verdict (the data nest as the kernel dumps it), comment. */
export function elemKey(key: Uint8Array, dataNest: Uint8Array | undefined, userdata: Uint8Array | undefined): string {
  return `${hex(key)}|${dataNest === undefined ? '' : hex(dataNest)}|${userdata === undefined ? '' : hex(userdata)}`;
}

/** The same string for an element we would write (its data encoded as the kernel dumps it). */
export function ourElemKey(e: SetElem): string {
  let data: Uint8Array | undefined;
  if (e.data instanceof Uint8Array) data = encodeNest([{ type: 1, value: e.data }]);
  else if (e.data !== undefined) {
    const v = verdictData(0, e.data).value as readonly Attr[];
    data = encodeNest(v);
  }
  return elemKey(e.key, data, e.comment === undefined ? undefined : commentUdata(e.comment));
}

function encodeNest(attrs: readonly Attr[]): Uint8Array {
  // Encoded the kernel's way (no NLA_F_NESTED), so canonicalData reads both the same.
  const strip = (a: Attr): Attr => ({ type: a.type & 0x3fff, value: a.value instanceof Uint8Array ? a.value : a.value.map(strip) });
  return encodeAttrs(attrs.map(strip));
}

/** Whether the kernel's anonymous set is the one `before` creates with id `id`. */
function sameAnonSet(before: readonly NftCommand[], id: number, k: KernelSet | undefined): boolean {
  if (k === undefined) return false;
  const add = before.find((c) => c.op === 'add-set' && c.set.id === id);
  if (add === undefined || add.op !== 'add-set') return false;
  const s = add.set;
  if (s.flags !== k.flags || s.keyType !== k.keyType || s.keyLen !== k.keyLen || (s.dataType ?? -1) !== (k.dataType ?? -1) || (s.dataType !== NFT_DATA_VERDICT && (s.dataLen ?? 0) !== (k.dataLen ?? 0))) return false;
  const want: string[] = [];
  for (const c of before) if (c.op === 'add-elements' && c.setId === id) for (const e of c.elements) want.push(ourElemKey(e));
  if (want.length !== k.elements.length) return false;
  const have = new Set(k.elements.map((e) => elemKey(e.key, e.data, e.userdata)));
  return want.every((w) => have.has(w));
}

/** Whether the kernel's rule is the one we would write; `sets`: the kernel's sets by name. */
export function sameRule(ours: CompiledRule, kernel: KernelRule, sets: ReadonlyMap<string, KernelSet>): boolean {
  const wantUd = ours.comment === undefined ? undefined : commentUdata(ours.comment);
  if ((wantUd === undefined) !== (kernel.userdata === undefined)) return false;
  if (wantUd !== undefined && kernel.userdata !== undefined && !equalBytes(wantUd, kernel.userdata)) return false;
  let kexprs: RawAttr[];
  try {
    kexprs = attrList(kernel.exprs);
  } catch {
    return false;
  }
  if (kexprs.length !== ours.exprs.length) return false;
  for (let i = 0; i < ours.exprs.length; i++) {
    const e = ours.exprs[i];
    const enc = encodeExpr(e as NonNullable<typeof e>).value as readonly Attr[];
    const k = attrList((kexprs[i] as RawAttr).value);
    const name = enc.find((a) => (a.type & 0x3fff) === 1)?.value as Uint8Array;
    if (strOf(firstAttr(k, 1)) !== strOf(name)) return false;
    const data = enc.find((a) => (a.type & 0x3fff) === 2)?.value as readonly Attr[];
    const kdata = attrList(firstAttr(k, 2) ?? new Uint8Array(0));
    if (e?.kind === 'lookup' && e.setId !== undefined) {
      if (!sameLevel(data, kdata, new Set([NFTA_LOOKUP_SET, NFTA_LOOKUP_SET_ID]))) return false;
      if (!sameAnonSet(ours.before, e.setId, sets.get(strOf(firstAttr(kdata, NFTA_LOOKUP_SET)) ?? ''))) return false;
    } else if (e?.kind === 'nat') {
      // The kernel derives NFTA_NAT_FLAGS from the registers (MAP_IPS | PROTO_SPECIFIED) and
      // dumps *_MAX = *_MIN: compared without them (our service chains never set other flags).
      if (!sameLevel(data.filter((a) => (a.type & 0x3fff) !== NFTA_NAT_FLAGS), kdata.filter((a) => a.type !== NFTA_NAT_FLAGS))) return false;
    } else if (!sameLevel(data, kdata)) return false;
  }
  return true;
}
