// Reads the elements of anonymous `numgen … map { 0 : …, 1 : … }` maps with GETSETELEM *gets*
// (keys 0..size-1 asked by name, many sets per datagram) instead of one dump per set.
//
// Why (measured, docs/nftables.md "Restart adoption"): at 10k Services the read-back was ~90 %
// kernel time in the element dumps. The kernel finds a dump's set by walking the table's list of
// sets: by name when the dump starts (nft_set_dump_ctx_init) and by pointer again in each dump
// callback (nf_tables_dump_set, two per small set), i.e. three walks of ~sets/2 nodes per set,
// O(sets²) in all. A get walks once (the name lookup), and gets of many sets share one sendto.
//
// Sound without knowing the keys in advance: the set dump carries the set's size (NFTA_SET_DESC,
// which nft sets to the element count of an anonymous set and the kernel enforces as a maximum),
// so when all `size` distinct keys 0..size-1 are found, those are every element. Any miss
// (ENOENT, another key layout) sends that set back to the caller for the dump.
import { encodeAttrs, HOST_LITTLE_ENDIAN, type Attr } from '../../../netlink/attrs.ts';
import { nftType } from '../../../netlink/nftables/constants.ts';
import { nfAttr } from '../../../netlink/nftables/expr.ts';
import type { NetlinkRequest, NetlinkSocket } from '../../../system/netlink-socket.ts';
import type { KernelElem, KernelSet } from '../adopt/kernel-table.ts';
import { TABLE } from '../names.ts';

const NFT_MSG_GETSETELEM = 13;
const NFT_SET_ANONYMOUS = 0x1;
const NFT_SET_CONSTANT = 0x2;
const NFT_SET_INTERVAL = 0x4;
/** Larger anonymous maps are dumped: one get's replies must fit the receive buffer with the rest. */
const MAX_NUMBERED = 1024;
/**
 * Replies (one skb each, ~1 KiB of truesize) per exchange. They queue while the kernel runs the
 * whole datagram inside sendto, so they must fit the socket's 8 MiB receive buffer (no ENOBUFS).
 */
const MAX_REPLIES_PER_EXCHANGE = 2048;

export interface NumberedSet {
  readonly set: KernelSet;
  /** NFTA_SET_DESC_SIZE from the set dump. */
  readonly size: number;
}

/** A set whose elements can be asked for by number: anonymous, constant, 4-byte keys, no intervals. */
export function isNumbered(s: KernelSet, size: number | undefined): size is number {
  return (s.flags & (NFT_SET_ANONYMOUS | NFT_SET_CONSTANT)) === (NFT_SET_ANONYMOUS | NFT_SET_CONSTANT)
    && (s.flags & NFT_SET_INTERVAL) === 0 && s.keyLen === 4 && size !== undefined && size >= 1 && size <= MAX_NUMBERED;
}

function hostU32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, HOST_LITTLE_ENDIAN);
  return b;
}

function getRequest(family: number, s: NumberedSet): NetlinkRequest {
  const elems: Attr[] = [];
  // numgen writes its register in host byte order, and nft keys the map the same way.
  for (let k = 0; k < s.size; k++) elems.push(nfAttr.nest(1, [nfAttr.nest(1, [nfAttr.bytes(1, hostU32(k))])]));
  const body = encodeAttrs([nfAttr.str(1, TABLE), nfAttr.str(2, s.set.name), nfAttr.nest(3, elems)]);
  const payload = new Uint8Array(4 + body.byteLength);
  payload[0] = family;
  payload.set(body, 4);
  return { type: nftType(NFT_MSG_GETSETELEM), payload, kind: 'doit' };
}

/**
 * Fills `elements` of every set whose keys are exactly 0..size-1; returns the others, untouched,
 * for the caller to dump. `decode` turns one reply message's attributes into its elements.
 */
export async function readNumberedElements(
  sock: NetlinkSocket,
  family: number,
  sets: readonly NumberedSet[],
  decode: (payload: Uint8Array) => KernelElem[],
): Promise<KernelSet[]> {
  const misses: KernelSet[] = [];
  let i = 0;
  while (i < sets.length) {
    const group: NumberedSet[] = [];
    for (let replies = 0; i < sets.length; i++) {
      const s = sets[i] as NumberedSet;
      if (group.length > 0 && replies + s.size + 1 > MAX_REPLIES_PER_EXCHANGE) break;
      group.push(s);
      replies += s.size + 1;
    }
    const outcomes = await sock.exchange(group.map((s) => getRequest(family, s)));
    group.forEach((s, j) => {
      const o = outcomes[j];
      const elems = o !== undefined && o.errno === 0 ? o.messages.flatMap((m) => decode(m.payload)) : [];
      if (elems.length === s.size) s.set.elements.push(...elems);
      else misses.push(s.set);
    });
  }
  return misses;
}
