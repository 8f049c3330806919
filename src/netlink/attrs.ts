// Netlink attributes (struct nlattr, include/uapi/linux/netlink.h): a 4-byte header
// { u16 nla_len; u16 nla_type } then the payload, padded to NLA_ALIGNTO (4). nla_len excludes the
// padding. Integers are host byte order unless the family says otherwise (IPVS ports and IPv4
// netmasks are big-endian, include/uapi/linux/ip_vs.h), so every encoder names its byte order.

export const NLA_ALIGNTO = 4;
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Host byte order of this machine (netlink's "host order"). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const align4 = (n: number): number => (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);

/** An attribute to encode: raw payload bytes or nested attributes. */
export interface Attr {
  readonly type: number;
  readonly value: Uint8Array | readonly Attr[];
}

const le = HOST_LITTLE_ENDIAN;
function scalar(size: number, set: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  set(new DataView(b.buffer));
  return b;
}

export const attr = {
  u8: (type: number, v: number): Attr => ({ type, value: Uint8Array.of(v & 0xff) }),
  u16: (type: number, v: number): Attr => ({ type, value: scalar(2, (d) => d.setUint16(0, v, le)) }),
  u32: (type: number, v: number): Attr => ({ type, value: scalar(4, (d) => d.setUint32(0, v >>> 0, le)) }),
  u64: (type: number, v: bigint): Attr => ({ type, value: scalar(8, (d) => d.setBigUint64(0, v, le)) }),
  /** Network byte order u16 (IPVS ports). */
  be16: (type: number, v: number): Attr => ({ type, value: scalar(2, (d) => d.setUint16(0, v, false)) }),
  /** Network byte order u32 (IPVS IPv4 netmask). */
  be32: (type: number, v: number): Attr => ({ type, value: scalar(4, (d) => d.setUint32(0, v >>> 0, false)) }),
  /** NLA_NUL_STRING: the NUL is part of nla_len. */
  str: (type: number, v: string): Attr => {
    const s = new TextEncoder().encode(v);
    const b = new Uint8Array(s.length + 1);
    b.set(s);
    return { type, value: b };
  },
  bytes: (type: number, v: Uint8Array): Attr => ({ type, value: v }),
  nest: (type: number, children: readonly Attr[]): Attr => ({ type, value: children }),
};

export function attrsLength(attrs: readonly Attr[]): number {
  let n = 0;
  for (const a of attrs) n += align4(NLA_HDRLEN + payloadLength(a));
  return n;
}

function payloadLength(a: Attr): number {
  return a.value instanceof Uint8Array ? a.value.byteLength : attrsLength(a.value);
}

/** Writes `attrs` at `offset` of `out` (which must be zero-filled for the padding); returns the end. */
export function writeAttrs(out: Uint8Array, offset: number, attrs: readonly Attr[]): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let off = offset;
  for (const a of attrs) {
    const len = NLA_HDRLEN + payloadLength(a);
    if (len > 0xffff) throw new RangeError(`netlink: attribute ${a.type} too long (${len} bytes)`);
    view.setUint16(off, len, le);
    view.setUint16(off + 2, a.type, le);
    if (a.value instanceof Uint8Array) out.set(a.value, off + NLA_HDRLEN);
    else writeAttrs(out, off + NLA_HDRLEN, a.value);
    off += align4(len);
  }
  return off;
}

export function encodeAttrs(attrs: readonly Attr[]): Uint8Array {
  const out = new Uint8Array(attrsLength(attrs));
  writeAttrs(out, 0, attrs);
  return out;
}

/** Decoded attributes of one level; the last occurrence of a type wins, unknown types are kept. */
export class Attrs {
  readonly #byType = new Map<number, Uint8Array>();
  constructor(bytes: Uint8Array) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = 0;
    while (off + NLA_HDRLEN <= bytes.byteLength) {
      const len = view.getUint16(off, le);
      if (len < NLA_HDRLEN || off + len > bytes.byteLength) {
        throw new RangeError(`netlink: malformed attribute at offset ${off} (nla_len ${len})`);
      }
      const type = view.getUint16(off + 2, le) & NLA_TYPE_MASK;
      this.#byType.set(type, bytes.subarray(off + NLA_HDRLEN, off + len));
      off += align4(len);
    }
  }
  has(type: number): boolean {
    return this.#byType.has(type);
  }
  types(): number[] {
    return [...this.#byType.keys()];
  }
  bytes(type: number): Uint8Array | undefined {
    return this.#byType.get(type);
  }
  #view(type: number, size: number): DataView | undefined {
    const b = this.#byType.get(type);
    if (b === undefined) return undefined;
    if (b.byteLength < size) throw new RangeError(`netlink: attribute ${type} is ${b.byteLength} bytes, want ${size}`);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u8(type: number): number | undefined {
    return this.#view(type, 1)?.getUint8(0);
  }
  u16(type: number): number | undefined {
    return this.#view(type, 2)?.getUint16(0, le);
  }
  u32(type: number): number | undefined {
    return this.#view(type, 4)?.getUint32(0, le);
  }
  s32(type: number): number | undefined {
    return this.#view(type, 4)?.getInt32(0, le);
  }
  u64(type: number): bigint | undefined {
    return this.#view(type, 8)?.getBigUint64(0, le);
  }
  be16(type: number): number | undefined {
    return this.#view(type, 2)?.getUint16(0, false);
  }
  be32(type: number): number | undefined {
    return this.#view(type, 4)?.getUint32(0, false);
  }
  /** NUL-terminated string; the terminator (and anything after it) is dropped. */
  str(type: number): string | undefined {
    const b = this.#byType.get(type);
    if (b === undefined) return undefined;
    const nul = b.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
  }
  nested(type: number): Attrs | undefined {
    const b = this.#byType.get(type);
    return b === undefined ? undefined : new Attrs(b);
  }
}
