// Netlink messages (include/uapi/linux/netlink.h): struct nlmsghdr { u32 nlmsg_len; u16 nlmsg_type;
// u16 nlmsg_flags; u32 nlmsg_seq; u32 nlmsg_pid; } in host byte order, messages 4-byte aligned,
// nlmsg_len excluding the trailing padding. Also NLMSG_ERROR (struct nlmsgerr) with extended ack.
import { Attrs, HOST_LITTLE_ENDIAN, align4 } from './attrs.ts';

export const NLMSG_HDRLEN = 16;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** On NLMSG_ERROR: the echoed request was capped to its header / extended-ack TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

// enum nlmsgerr_attrs
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

// Socket options at SOL_NETLINK (netlink.h).
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

export const NETLINK_ROUTE = 0;
export const NETLINK_GENERIC = 16;

const le = HOST_LITTLE_ENDIAN;

export interface NlMsg {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Bytes after the 16-byte header, without trailing padding. */
  readonly payload: Uint8Array;
}

/** Encodes a list of messages into one buffer (one datagram = one batch). */
export function encodeMessages(msgs: readonly NlMsg[]): Uint8Array {
  let total = 0;
  for (const m of msgs) total += align4(NLMSG_HDRLEN + m.payload.byteLength);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const m of msgs) {
    const len = NLMSG_HDRLEN + m.payload.byteLength;
    view.setUint32(off, len, le);
    view.setUint16(off + 4, m.type, le);
    view.setUint16(off + 6, m.flags, le);
    view.setUint32(off + 8, m.seq >>> 0, le);
    view.setUint32(off + 12, m.pid >>> 0, le);
    out.set(m.payload, off + NLMSG_HDRLEN);
    off += align4(len);
  }
  return out;
}

export const encodeMessage = (m: NlMsg): Uint8Array => encodeMessages([m]);

/** Splits one received datagram into its messages. Throws on a truncated or malformed header. */
export function splitMessages(datagram: Uint8Array): NlMsg[] {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= datagram.byteLength) {
    const len = view.getUint32(off, le);
    if (len < NLMSG_HDRLEN || off + len > datagram.byteLength) {
      throw new RangeError(`netlink: malformed message at offset ${off} (nlmsg_len ${len} of ${datagram.byteLength})`);
    }
    out.push({
      type: view.getUint16(off + 4, le),
      flags: view.getUint16(off + 6, le),
      seq: view.getUint32(off + 8, le),
      pid: view.getUint32(off + 12, le),
      payload: datagram.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

export interface NlError {
  /** Positive errno; 0 is an ACK. */
  readonly errno: number;
  /** Header of the request this answers (echoed by the kernel). */
  readonly requestType: number;
  readonly requestSeq: number;
  /** NLMSGERR_ATTR_MSG, when the kernel gave one. */
  readonly message?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  readonly offset?: number;
}

/**
 * Decodes an NLMSG_ERROR payload: struct nlmsgerr { int error; struct nlmsghdr msg; } then the
 * echoed request payload (absent when NLM_F_CAPPED or on success) then ext-ack TLVs
 * (NLM_F_ACK_TLVS).
 */
export function parseError(m: NlMsg): NlError {
  if (m.payload.byteLength < 4 + NLMSG_HDRLEN) throw new RangeError('netlink: short NLMSG_ERROR');
  const view = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const error = view.getInt32(0, le);
  const echoedLen = view.getUint32(4, le);
  const base = { errno: error === 0 ? 0 : -error, requestType: view.getUint16(8, le), requestSeq: view.getUint32(12, le) };
  if ((m.flags & NLM_F_ACK_TLVS) === 0) return base;
  // The whole request is echoed only for errors without NETLINK_CAP_ACK.
  const echoed = error !== 0 && (m.flags & NLM_F_CAPPED) === 0 ? align4(echoedLen) : NLMSG_HDRLEN;
  const tlvStart = 4 + echoed;
  if (tlvStart >= m.payload.byteLength) return base;
  const tlvs = new Attrs(m.payload.subarray(tlvStart));
  const message = tlvs.str(NLMSGERR_ATTR_MSG);
  const offset = tlvs.u32(NLMSGERR_ATTR_OFFS);
  return {
    ...base,
    ...(message !== undefined ? { message } : {}),
    ...(offset !== undefined ? { offset } : {}),
  };
}

/** NLMSG_DONE carries an int: 0, or a negative errno when the dump failed midway. */
export function parseDone(m: NlMsg): number {
  if (m.payload.byteLength < 4) return 0;
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, le);
  return v === 0 ? 0 : -v;
}
