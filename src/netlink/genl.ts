// Generic netlink (include/uapi/linux/genetlink.h): struct genlmsghdr { u8 cmd; u8 version;
// u16 reserved; } after the nlmsghdr, then attributes. Family ids are dynamic and resolved by name
// through the controller family nlctrl (GENL_ID_CTRL) with CTRL_CMD_GETFAMILY.
import { Attrs, attr, attrsLength, writeAttrs } from './attrs.ts';
import type { Attr } from './attrs.ts';

export const GENL_HDRLEN = 4;
export const GENL_ID_CTRL = 0x10;

// enum ctrl_cmd / ctrl_attr
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;

/** genlmsghdr + attributes: the payload of a generic-netlink message. */
export function genlPayload(cmd: number, version: number, attrs: readonly Attr[]): Uint8Array {
  const out = new Uint8Array(GENL_HDRLEN + attrsLength(attrs));
  out[0] = cmd;
  out[1] = version;
  writeAttrs(out, GENL_HDRLEN, attrs);
  return out;
}

export interface GenlMessage {
  readonly cmd: number;
  readonly version: number;
  readonly attrs: Attrs;
}

export function parseGenl(payload: Uint8Array): GenlMessage {
  if (payload.byteLength < GENL_HDRLEN) throw new RangeError('netlink: short genlmsghdr');
  return { cmd: payload[0] ?? 0, version: payload[1] ?? 0, attrs: new Attrs(payload.subarray(GENL_HDRLEN)) };
}

/** CTRL_CMD_GETFAMILY request payload for `name` (sent to GENL_ID_CTRL as a doit). */
export function getFamilyRequest(name: string): Uint8Array {
  return genlPayload(CTRL_CMD_GETFAMILY, 1, [attr.str(CTRL_ATTR_FAMILY_NAME, name)]);
}

export interface GenlFamily {
  readonly id: number;
  readonly name: string;
  readonly version: number;
  readonly hdrSize: number;
  readonly maxAttr: number;
}

/** Decodes the CTRL_CMD_NEWFAMILY reply. */
export function parseFamily(payload: Uint8Array): GenlFamily {
  const g = parseGenl(payload);
  if (g.cmd !== CTRL_CMD_NEWFAMILY) throw new Error(`nlctrl: unexpected reply cmd ${g.cmd}`);
  const id = g.attrs.u16(CTRL_ATTR_FAMILY_ID);
  const name = g.attrs.str(CTRL_ATTR_FAMILY_NAME);
  if (id === undefined || name === undefined) throw new Error('nlctrl: family reply without id or name');
  return {
    id,
    name,
    version: g.attrs.u32(CTRL_ATTR_VERSION) ?? 0,
    hdrSize: g.attrs.u32(CTRL_ATTR_HDRSIZE) ?? 0,
    maxAttr: g.attrs.u32(CTRL_ATTR_MAXATTR) ?? 0,
  };
}
