// The rule bodies our renderer writes in per-service chains (plan-port.ts), compiled to the
// expressions nft generates for them (checked against `nft --debug=netlink` / `--debug=mnl`).
// Anything else is null: the caller then leaves the whole transaction to libnftables. Pure.
import { NFPROTO_IPV4, NFPROTO_IPV6, NFT_DATA_VERDICT_TYPE, NFT_REG32_01, NFT_REG_1, NFT_REG_2, NFT_SET_ANONYMOUS, NFT_SET_CONSTANT, NFT_SET_MAP, TYPE_INETSERVICE, TYPE_INTEGER, concatType } from '../../../netlink/nftables/constants.ts';
import type { Expr, Verdict } from '../../../netlink/nftables/expr.ts';
import type { NftCommand, SetElem } from '../../../netlink/nftables/messages.ts';
import { addrBytes, addrLen, addrType, be16, concat, hostU32, portNumber, prefixMatch, protoNumber, type NfFamily } from './values.ts';

export interface CompiledRule {
  /** Anonymous sets (and their elements) the rule looks up, to send before it. */
  readonly before: readonly NftCommand[];
  readonly exprs: readonly Expr[];
  readonly comment?: string;
}

/** Ids of anonymous sets in one batch (NFTA_SET_ID). */
export interface SetIds {
  next(): number;
  /** The name an anonymous set is created with: nft's `__map%d` (the kernel picks the number). */
  anonName(id: number): string;
  /** Send its elements by set id alone (no name lookup over the table's sets). */
  readonly elementsById: boolean;
}

// Set userdata as nft 1.0.6 writes it (NFTNL_UDATA_SET_KEYBYTEORDER host, DATABYTEORDER,
// DATA_TYPEOF for verdicts, DATA_INTERVAL 0), so `nft list` prints the inline maps as it would.
const MAP_UDATA = Uint8Array.from([0, 4, 1, 0, 0, 0, 1, 4, 0, 0, 0, 0, 6, 4, 0, 0, 0, 0]);
const VMAP_UDATA = Uint8Array.from([0, 4, 1, 0, 0, 0, 1, 4, 0, 0, 0, 0, 4, 8, 0, 4, 1, 0, 0, 0, 1, 0, 6, 4, 0, 0, 0, 0]);
const ANON_MAP = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP;

const NAME = String.raw`[^\s"{}@]+`;
const COMMENT = String.raw`(?: comment "([^"\\]*)")?`;
const l4 = (proto: string): Expr[] | null => {
  const p = protoNumber(proto);
  if (p === null) return null;
  return [{ kind: 'meta', key: 'l4proto', dreg: NFT_REG_1 }, { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data: Uint8Array.of(p) }];
};
const goto = (chain: string): Expr => ({ kind: 'verdict', verdict: { code: 'goto', chain } });
const saddr = (fam: NfFamily, len: number): Expr => ({ kind: 'payload', base: 'network', offset: fam === 'ip' ? 12 : 8, len, dreg: NFT_REG_1 });

function markOr(markText: string): Expr[] | null {
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(markText)) return null;
  const m = Number.parseInt(markText, 16);
  return [
    { kind: 'meta', key: 'mark', dreg: NFT_REG_1 },
    { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, op: 'bool', mask: hostU32(~m), xor: hostU32(m) },
    { kind: 'meta-set', key: 'mark', sreg: NFT_REG_1 },
  ];
}

function prefix(fam: NfFamily, text: string, op: 'eq' | 'neq'): Expr[] | null {
  const p = prefixMatch(text, fam);
  if (p === null) return null;
  const out: Expr[] = [saddr(fam, p.bytes.byteLength)];
  if (p.mask !== null) out.push({ kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, mask: p.mask, xor: new Uint8Array(p.mask.byteLength) });
  out.push({ kind: 'cmp', op, sreg: NFT_REG_1, data: p.bytes });
  return out;
}

function iifname(name: string): Expr[] | null {
  if (name.length === 0 || name.length > 15) return null;
  const wildcard = name.endsWith('*');
  const text = new TextEncoder().encode(wildcard ? name.slice(0, -1) : name);
  if (text.byteLength === 0 || text.includes(0x2a) || text.includes(0x5c)) return null;
  const data = wildcard ? text : new Uint8Array(16);
  if (!wildcard) data.set(text);
  return [{ kind: 'meta', key: 'iifname', dreg: NFT_REG_1 }, { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data }];
}

/** `i : X , ...` of an inline map with indices 0..n-1 in order; the X texts, or null. */
function indexed(body: string, n: number): string[] | null {
  const items = body.split(' , ');
  if (items.length !== n) return null;
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const m = /^(\d+) : (.+)$/.exec(items[i] as string);
    if (m === null || Number(m[1]) !== i) return null;
    out.push(m[2] as string);
  }
  return out;
}

function numgenMap(fam: NfFamily, proto: string, mod: number, body: string, ids: SetIds): CompiledRule | null {
  const targets = indexed(body, mod);
  const match = l4(proto);
  if (targets === null || match === null || mod < 1) return null;
  const elements: SetElem[] = [];
  for (let i = 0; i < targets.length; i++) {
    const [a, p] = (targets[i] as string).split(' . ');
    const addr = addrBytes(a ?? '', fam);
    const port = portNumber(p ?? '');
    if (addr === null || port === null) return null;
    elements.push({ key: hostU32(i), data: concat([addr, be16(port)]) });
  }
  const id = ids.next();
  const name = ids.anonName(id);
  const dataLen = addrLen(fam) + 4;
  return {
    before: [
      { op: 'add-set', set: { name, flags: ANON_MAP, keyType: TYPE_INTEGER, keyLen: 4, dataType: concatType(addrType(fam), TYPE_INETSERVICE), dataLen, id, size: mod, userdata: MAP_UDATA } },
      { op: 'add-elements', set: ids.elementsById ? '' : name, setId: id, elements },
    ],
    exprs: [
      ...match,
      { kind: 'numgen', dreg: NFT_REG_1, modulus: mod },
      { kind: 'lookup', sreg: NFT_REG_1, set: name, setId: id, dreg: NFT_REG_1 },
      { kind: 'nat', family: fam === 'ip' ? NFPROTO_IPV4 : NFPROTO_IPV6, addrReg: NFT_REG_1, protoReg: fam === 'ip' ? NFT_REG32_01 : NFT_REG_2 },
    ],
  };
}

function numgenVmap(mod: number, body: string, ids: SetIds): CompiledRule | null {
  const targets = indexed(body, mod);
  if (targets === null || mod < 1) return null;
  const elements: SetElem[] = [];
  for (let i = 0; i < targets.length; i++) {
    const m = new RegExp(`^goto (${NAME})$`).exec(targets[i] as string);
    if (m === null) return null;
    const verdict: Verdict = { code: 'goto', chain: m[1] as string };
    elements.push({ key: hostU32(i), data: verdict });
  }
  const id = ids.next();
  const name = ids.anonName(id);
  return {
    before: [
      { op: 'add-set', set: { name, flags: ANON_MAP, keyType: TYPE_INTEGER, keyLen: 4, dataType: NFT_DATA_VERDICT_TYPE, dataLen: 0, id, size: mod, userdata: VMAP_UDATA } },
      { op: 'add-elements', set: ids.elementsById ? '' : name, setId: id, elements },
    ],
    exprs: [{ kind: 'numgen', dreg: NFT_REG_1, modulus: mod }, { kind: 'lookup', sreg: NFT_REG_1, set: name, setId: id, dreg: 0 }],
  };
}

function dnatTo(fam: NfFamily, proto: string, target: string): CompiledRule | null {
  const m = fam === 'ip' ? /^([\d.]+):(\d+)$/.exec(target) : /^\[([0-9a-fA-F:]+)\]:(\d+)$/.exec(target);
  const match = l4(proto);
  const addr = addrBytes(m?.[1] ?? '', fam);
  const port = portNumber(m?.[2] ?? '');
  if (match === null || addr === null || port === null) return null;
  return {
    before: [],
    exprs: [
      ...match,
      { kind: 'immediate', dreg: NFT_REG_1, data: addr },
      { kind: 'immediate', dreg: NFT_REG_2, data: be16(port) },
      // NF_NAT_RANGE_PROTO_SPECIFIED
      { kind: 'nat', family: fam === 'ip' ? NFPROTO_IPV4 : NFPROTO_IPV6, addrReg: NFT_REG_1, protoReg: NFT_REG_2, flags: 2 },
    ],
  };
}

const plain = (exprs: Expr[] | null, comment?: string): CompiledRule | null =>
  exprs === null ? null : { before: [], exprs, ...(comment !== undefined ? { comment } : {}) };

/** One `add rule` body of a table of family `fam`, or null when it is not a shape we compile. */
export function compileRule(fam: NfFamily, body: string, ids: SetIds): CompiledRule | null {
  let m: RegExpExecArray | null;
  if ((m = /^meta l4proto (\w+) dnat (ip6?) addr \. port to numgen random mod (\d+) map \{ (.+) \}$/.exec(body)) !== null) {
    return m[2] === fam ? numgenMap(fam, m[1] as string, Number(m[3]), m[4] as string, ids) : null;
  }
  if ((m = /^numgen random mod (\d+) vmap \{ (.+) \}$/.exec(body)) !== null) return numgenVmap(Number(m[1]), m[2] as string, ids);
  if ((m = /^meta l4proto (\w+) dnat to (\S+)$/.exec(body)) !== null) return dnatTo(fam, m[1] as string, m[2] as string);
  if ((m = new RegExp(`^goto (${NAME})$`).exec(body)) !== null) return plain([goto(m[1] as string)]);
  if ((m = new RegExp(`^mark set mark or (\\S+)${COMMENT}$`).exec(body)) !== null) return plain(markOr(m[1] as string), m[2]);
  if ((m = new RegExp(`^fib saddr type local mark set mark or (\\S+)${COMMENT}$`).exec(body)) !== null) {
    const mark = markOr(m[1] as string);
    return plain(mark === null ? null : [...fibLocal(), ...mark], m[2]);
  }
  if ((m = new RegExp(`^fib saddr type local goto (${NAME})${COMMENT}$`).exec(body)) !== null) return plain([...fibLocal(), goto(m[1] as string)], m[2]);
  if ((m = new RegExp(`^(ip6?) saddr @(${NAME}) goto (${NAME})$`).exec(body)) !== null) {
    if (m[1] !== fam) return null;
    return plain([saddr(fam, addrLen(fam)), { kind: 'lookup', sreg: NFT_REG_1, set: m[2] as string }, goto(m[3] as string)]);
  }
  if ((m = new RegExp(`^update @(${NAME}) \\{ (ip6?) saddr \\}$`).exec(body)) !== null) {
    if (m[2] !== fam) return null;
    return plain([saddr(fam, addrLen(fam)), { kind: 'dynset-update', sreg: NFT_REG_1, set: m[1] as string }]);
  }
  if ((m = new RegExp(`^(ip6?) saddr ([0-9a-fA-F.:/]+) goto (${NAME})${COMMENT}$`).exec(body)) !== null) {
    if (m[1] !== fam) return null;
    const p = prefix(fam, m[2] as string, 'eq');
    return plain(p === null ? null : [...p, goto(m[3] as string)], m[4]);
  }
  if ((m = new RegExp(`^iifname "([^"]+)" goto (${NAME})${COMMENT}$`).exec(body)) !== null) {
    const i = iifname(m[1] as string);
    return plain(i === null ? null : [...i, goto(m[2] as string)], m[3]);
  }
  // One source range only: several make an interval set, which is left to nft.
  if ((m = /^(ip6?) saddr != \{ ([0-9a-fA-F.:/]+) \} drop$/.exec(body)) !== null) {
    if (m[1] !== fam) return null;
    const p = prefix(fam, m[2] as string, 'neq');
    return plain(p === null ? null : [...p, { kind: 'verdict', verdict: { code: 'drop' } }]);
  }
  return null;
}

function fibLocal(): Expr[] {
  // RTN_LOCAL = 2, host order.
  return [{ kind: 'fib-saddr-type', dreg: NFT_REG_1 }, { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data: hostU32(2) }];
}
