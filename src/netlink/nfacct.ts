// nfnetlink_acct (include/uapi/linux/netfilter/nfnetlink_acct.h, nfnetlink.h): named packet and
// byte counters that iptables' `-m nfacct --nfacct-name NAME` match adds to. Messages go over
// NETLINK_NETFILTER with type (NFNL_SUBSYS_ACCT << 8) | NFNL_MSG_ACCT_*, a struct nfgenmsg
// { u8 nfgen_family; u8 version; __be16 res_id; } and then attributes; the counters are big-endian
// u64. Upstream kube-proxy creates its two counters the same way (pkg/util/nfacct). Pure.
import { Attrs, attr, attrsLength, writeAttrs } from './attrs.ts';

export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_ACCT = 7;
export const NFNETLINK_V0 = 0;
const NFGENMSG_LEN = 4;

// enum nfnl_acct_msg_types
export const NFNL_MSG_ACCT_NEW = 0;
export const NFNL_MSG_ACCT_GET = 1;
export const NFNL_MSG_ACCT_DEL = 3;

// enum nfnl_acct_type
export const NFACCT_NAME = 1;
export const NFACCT_PKTS = 2;
export const NFACCT_BYTES = 3;
export const NFACCT_USE = 4;

/** NFACCT_NAME_MAX, with the NUL. */
export const NFACCT_NAME_MAX = 32;

export const nfacctType = (msg: number): number => (NFNL_SUBSYS_ACCT << 8) | msg;

export interface NfacctCounter {
  readonly name: string;
  readonly packets: bigint;
  readonly bytes: bigint;
}

/** nfgenmsg (AF_UNSPEC, v0) and a NFACCT_NAME attribute: the payload of NEW, GET and DEL. */
export function nfacctNamePayload(name: string): Uint8Array {
  if (name.length === 0 || name.length >= NFACCT_NAME_MAX) {
    throw new RangeError(`nfacct: counter name "${name}" must have 1 to ${NFACCT_NAME_MAX - 1} characters`);
  }
  const attrs = [attr.str(NFACCT_NAME, name)];
  const out = new Uint8Array(NFGENMSG_LEN + attrsLength(attrs));
  out[1] = NFNETLINK_V0;
  writeAttrs(out, NFGENMSG_LEN, attrs);
  return out;
}

function be64(a: Attrs, type: number): bigint {
  const b = a.bytes(type);
  if (b === undefined || b.byteLength < 8) return 0n;
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, false);
}

/** Decodes a NFNL_MSG_ACCT_NEW reply (what GET answers with). */
export function parseNfacctCounter(payload: Uint8Array): NfacctCounter {
  if (payload.byteLength < NFGENMSG_LEN) throw new RangeError('nfacct: short nfgenmsg');
  const a = new Attrs(payload.subarray(NFGENMSG_LEN));
  const name = a.str(NFACCT_NAME);
  if (name === undefined) throw new Error('nfacct: counter reply without a name');
  return { name, packets: be64(a, NFACCT_PKTS), bytes: be64(a, NFACCT_BYTES) };
}
