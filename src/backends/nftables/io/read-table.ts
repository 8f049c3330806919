// Reads our `kube-proxy` table of one family back over nf_tables netlink, in one pass and without
// nft (whose `list table` formats every rule: ~13 s at 10k Services): chain, set and rule dumps
// of the table, then the elements: of the anonymous numgen maps by gets of keys 0..size-1, many
// per datagram (read-numbered-elements.ts says why), of every other set by one element dump per
// set. Used only at start and after
// a failure (restart adoption, adopt/plan-adoption.ts). null: the table does not exist.
import { NetlinkSocket } from '../../../system/netlink-socket.ts';
import { NETLINK_NETFILTER } from '../../../netlink/nfacct.ts';
import { encodeAttrs, type Attr } from '../../../netlink/attrs.ts';
import { NFPROTO_IPV4, NFPROTO_IPV6, nftType } from '../../../netlink/nftables/constants.ts';
import { nfAttr } from '../../../netlink/nftables/expr.ts';
import type { NlMsg } from '../../../netlink/message.ts';
import { attrList, be32Of, firstAttr, strOf, type KernelChain, type KernelElem, type KernelSet, type KernelTable, type RawAttr } from '../adopt/kernel-table.ts';
import { TABLE } from '../names.ts';
import { isNumbered, readNumberedElements, type NumberedSet } from './read-numbered-elements.ts';
import type { NfFamily } from '../compile/values.ts';

const NFT_MSG_GETCHAIN = 4;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_GETSET = 10;
const NFT_MSG_GETSETELEM = 13;
const ENOENT = 2;

export interface NftTableReader {
  read(family: NfFamily): Promise<KernelTable | null>;
  close(): void;
}

function request(family: number, msg: number, attrs: readonly Attr[]): { type: number; payload: Uint8Array; kind: 'dump' } {
  const body = encodeAttrs(attrs);
  const payload = new Uint8Array(4 + body.byteLength);
  payload[0] = family;
  payload.set(body, 4);
  return { type: nftType(msg), payload, kind: 'dump' };
}

const attrsOf = (m: NlMsg): RawAttr[] => attrList(m.payload.subarray(4));

function chainOf(a: readonly RawAttr[]): KernelChain {
  const hookAttr = firstAttr(a, 4);
  const type = strOf(firstAttr(a, 7));
  let hook: KernelChain['hook'];
  if (hookAttr !== undefined) {
    const h = attrList(hookAttr);
    hook = { num: be32Of(firstAttr(h, 1)) ?? -1, priority: (be32Of(firstAttr(h, 2)) ?? 0) | 0, type: type ?? '' };
  }
  return { name: strOf(firstAttr(a, 3)) ?? '', ...(hook !== undefined ? { hook } : {}), rules: [] };
}

function setOf(a: readonly RawAttr[]): KernelSet {
  const timeout = firstAttr(a, 11);
  const dataType = be32Of(firstAttr(a, 6));
  return {
    name: strOf(firstAttr(a, 2)) ?? '',
    flags: be32Of(firstAttr(a, 3)) ?? 0,
    keyType: be32Of(firstAttr(a, 4)) ?? 0,
    keyLen: be32Of(firstAttr(a, 5)) ?? 0,
    ...(dataType !== undefined ? { dataType, dataLen: be32Of(firstAttr(a, 7)) ?? 0 } : {}),
    ...(timeout !== undefined && timeout.byteLength === 8 ? { timeoutMs: new DataView(timeout.buffer, timeout.byteOffset, 8).getBigUint64(0, false) } : {}),
    elements: [],
  };
}

/** NFTA_SET_DESC_SIZE: the size nft gave the set (an anonymous set's element count). */
function sizeOf(a: readonly RawAttr[]): number | undefined {
  const desc = firstAttr(a, 9);
  return desc === undefined ? undefined : be32Of(firstAttr(attrList(desc), 1));
}

function elementsOf(a: readonly RawAttr[]): KernelElem[] {
  const list = firstAttr(a, 3);
  if (list === undefined) return [];
  return attrList(list).map((e) => {
    const f = attrList(e.value);
    const keyNest = firstAttr(f, 1);
    const data = firstAttr(f, 2);
    const userdata = firstAttr(f, 6);
    return { key: keyNest === undefined ? new Uint8Array(0) : (firstAttr(attrList(keyNest), 1) ?? new Uint8Array(0)), ...(data !== undefined ? { data } : {}), ...(userdata !== undefined ? { userdata } : {}) };
  });
}

export interface NftTableReaderOptions {
  readonly timeoutMs?: number;
  /** false: dump every set's elements, gets for none (what the gets are checked against in tests). */
  readonly numberedGets?: boolean;
  /** After each read: how many sets' elements came by gets and how many by dumps. */
  readonly onRead?: (stats: { readonly gets: number; readonly dumps: number }) => void;
}

export function openNftTableReader(options: NftTableReaderOptions = {}): NftTableReader {
  const sock = NetlinkSocket.open(NETLINK_NETFILTER, { timeoutMs: options.timeoutMs ?? 30_000 });
  const dump = async (req: ReturnType<typeof request>, what: string): Promise<NlMsg[] | null> => {
    for (let attempt = 0; ; attempt++) {
      const [o] = await sock.exchange([req]);
      if (o === undefined) throw new Error('unreachable: one dump, one outcome');
      if (o.errno === ENOENT) return null;
      if (o.errno !== 0) throw new Error(`nf_tables ${what} dump failed: errno ${o.errno}${o.extack !== undefined ? ` (${o.extack})` : ''}`);
      // A dump that overlapped a change is repeated (the caller retries adoption on a failure anyway).
      if (!o.interrupted || attempt >= 3) return [...o.messages];
    }
  };
  return {
    async read(family) {
      const nf = family === 'ip' ? NFPROTO_IPV4 : NFPROTO_IPV6;
      const chainMsgs = await dump(request(nf, NFT_MSG_GETCHAIN, [nfAttr.str(1, TABLE)]), 'chain');
      if (chainMsgs === null) return null;
      const chains = new Map<string, KernelChain>();
      for (const m of chainMsgs) {
        const a = attrsOf(m);
        if (strOf(firstAttr(a, 1)) !== TABLE) continue;
        const c = chainOf(a);
        chains.set(c.name, c);
      }
      // No chain at all may also mean no table: the table dump is the only sure answer, and an
      // empty table is as good as none for adoption.
      if (chains.size === 0) return null;
      const sets = new Map<string, KernelSet>();
      const numbered: NumberedSet[] = [];
      const dumped: KernelSet[] = [];
      for (const m of (await dump(request(nf, NFT_MSG_GETSET, [nfAttr.str(1, TABLE)]), 'set')) ?? []) {
        const a = attrsOf(m);
        if (strOf(firstAttr(a, 1)) !== TABLE) continue;
        const s = setOf(a);
        sets.set(s.name, s);
        const size = sizeOf(a);
        // Dynamic (affinity) sets are kept as they are: their elements are never compared.
        if (options.numberedGets !== false && isNumbered(s, size)) numbered.push({ set: s, size });
        else if (!s.name.startsWith('affinity-')) dumped.push(s);
      }
      for (const m of (await dump(request(nf, NFT_MSG_GETRULE, [nfAttr.str(1, TABLE)]), 'rule')) ?? []) {
        const a = attrsOf(m);
        if (strOf(firstAttr(a, 1)) !== TABLE) continue;
        const c = chains.get(strOf(firstAttr(a, 2)) ?? '');
        const exprs = firstAttr(a, 4);
        const userdata = firstAttr(a, 7);
        c?.rules.push({ exprs: exprs ?? new Uint8Array(0), ...(userdata !== undefined ? { userdata } : {}) });
      }
      const misses = await readNumberedElements(sock, nf, numbered, (p) => elementsOf(attrList(p.subarray(4))));
      dumped.push(...misses);
      options.onRead?.({ gets: numbered.length - misses.length, dumps: dumped.length });
      for (const s of dumped) {
        const msgs = await dump(request(nf, NFT_MSG_GETSETELEM, [nfAttr.str(1, TABLE), nfAttr.str(2, s.name)]), `element of ${s.name}`);
        for (const m of msgs ?? []) s.elements.push(...elementsOf(attrsOf(m)));
      }
      return { chains, sets };
    },
    close: () => sock.close(),
  };
}
