// rtnetlink links and addresses (include/uapi/linux/rtnetlink.h, if_link.h, if_addr.h), enough
// for kube-ipvs0: create a dummy link, look it up, set it up/down, add/delete/dump its addresses.
import { Attrs, HOST_LITTLE_ENDIAN, NLA_F_NESTED, attr, attrsLength, writeAttrs } from './attrs.ts';
import type { Attr } from './attrs.ts';
import { afOf, bytesToIp, familyOfAf, ipToBytes } from './ip.ts';
import type { IPFamily } from '../model/types.ts';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

export const IFLA_IFNAME = 3;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
export const IFF_UP = 0x1;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;

const IFINFOMSG_LEN = 16; // { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; }
const IFADDRMSG_LEN = 8; // { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; }
const le = HOST_LITTLE_ENDIAN;

function withHeader(header: Uint8Array, attrs: readonly Attr[]): Uint8Array {
  const out = new Uint8Array(header.byteLength + attrsLength(attrs));
  out.set(header);
  writeAttrs(out, header.byteLength, attrs);
  return out;
}

function ifinfomsg(index: number, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_LEN);
  const v = new DataView(b.buffer);
  v.setInt32(4, index, le);
  v.setUint32(8, flags, le);
  v.setUint32(12, change, le);
  return b;
}

function ifaddrmsg(family: number, prefixLength: number, index: number): Uint8Array {
  const b = new Uint8Array(IFADDRMSG_LEN);
  b[0] = family;
  b[1] = prefixLength;
  new DataView(b.buffer).setUint32(4, index, le);
  return b;
}

export function checkLinkName(name: string): void {
  // IFNAMSIZ is 16 including the NUL (include/uapi/linux/if.h).
  if (name.length === 0 || name.length > 15 || /[\s/:]/.test(name)) throw new RangeError(`invalid link name "${name}"`);
}

/** Payloads for rtnetlink requests; the caller adds NLM_F_CREATE|NLM_F_EXCL on the NEW ones. */
export const rtRequest = {
  /** RTM_NEWLINK of kind dummy (send with NLM_F_CREATE|NLM_F_EXCL; EEXIST when present). */
  newDummyLink: (name: string): Uint8Array => {
    checkLinkName(name);
    return withHeader(ifinfomsg(0), [
      attr.str(IFLA_IFNAME, name),
      attr.nest(IFLA_LINKINFO | NLA_F_NESTED, [attr.str(IFLA_INFO_KIND, 'dummy')]),
    ]);
  },
  /** RTM_GETLINK doit by name: ENODEV when absent. */
  getLinkByName: (name: string): Uint8Array => {
    checkLinkName(name);
    return withHeader(ifinfomsg(0), [attr.str(IFLA_IFNAME, name)]);
  },
  /** RTM_NEWLINK changing only IFF_UP. */
  setLinkUp: (index: number, up: boolean): Uint8Array => ifinfomsg(index, up ? IFF_UP : 0, IFF_UP),
  /** RTM_DELLINK. */
  delLink: (index: number): Uint8Array => ifinfomsg(index),
  /** RTM_GETLINK with NLM_F_DUMP. */
  dumpLinks: (): Uint8Array => ifinfomsg(0),
  /** RTM_NEWADDR / RTM_DELADDR body: IFA_LOCAL and IFA_ADDRESS both carry the address. */
  address: (index: number, address: string, prefixLength?: number): Uint8Array => {
    const bytes = ipToBytes(address);
    const family: IPFamily = bytes.byteLength === 4 ? 'IPv4' : 'IPv6';
    const plen = prefixLength ?? (family === 'IPv4' ? 32 : 128);
    return withHeader(ifaddrmsg(afOf(family), plen, index), [
      attr.bytes(IFA_LOCAL, bytes),
      attr.bytes(IFA_ADDRESS, bytes),
      // Dummy links are NOARP so there is no DAD anyway; NODAD keeps IPv6 VIPs usable at once.
      ...(family === 'IPv6' ? [attr.u32(IFA_FLAGS, IFA_F_NODAD)] : []),
    ]);
  },
  /** RTM_GETADDR with NLM_F_DUMP; family 0 = both. */
  dumpAddresses: (family?: IPFamily): Uint8Array => ifaddrmsg(family === undefined ? 0 : afOf(family), 0, 0),
};

export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  readonly flags: number;
  readonly kind?: string;
}

export function parseLink(payload: Uint8Array): LinkInfo {
  if (payload.byteLength < IFINFOMSG_LEN) throw new RangeError('rtnetlink: short ifinfomsg');
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const a = new Attrs(payload.subarray(IFINFOMSG_LEN));
  const kind = a.nested(IFLA_LINKINFO)?.str(IFLA_INFO_KIND);
  return {
    index: v.getInt32(4, le),
    name: a.str(IFLA_IFNAME) ?? '',
    flags: v.getUint32(8, le),
    ...(kind !== undefined ? { kind } : {}),
  };
}

export interface AddressInfo {
  readonly family: IPFamily;
  readonly index: number;
  readonly address: string;
  readonly prefixLength: number;
}

/** RTM_NEWADDR message; IPv4 carries IFA_LOCAL, IPv6 only IFA_ADDRESS. Null for other families. */
export function parseAddress(payload: Uint8Array): AddressInfo | null {
  if (payload.byteLength < IFADDRMSG_LEN) throw new RangeError('rtnetlink: short ifaddrmsg');
  const af = payload[0] ?? 0;
  if (af !== 2 && af !== 10) return null;
  const family = familyOfAf(af);
  const a = new Attrs(payload.subarray(IFADDRMSG_LEN));
  const bytes = a.bytes(IFA_LOCAL) ?? a.bytes(IFA_ADDRESS);
  if (bytes === undefined) return null;
  return {
    family,
    index: new DataView(payload.buffer, payload.byteOffset + 4, 4).getUint32(0, le),
    address: bytesToIp(bytes, family),
    prefixLength: payload[1] ?? 0,
  };
}
