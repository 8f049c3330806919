// The IPVS generic-netlink family, requests (include/uapi/linux/ip_vs.h; parsing rules of
// net/netfilter/ipvs/ip_vs_ctl.c). Decoders are in ipvs-decode.ts.
//
// Byte order is mixed: ports (SVC/DEST_ATTR_PORT) and the IPv4 netmask are network order, every
// other integer host order. NEW/SET_SERVICE need AF + identity + SCHED_NAME + FLAGS + TIMEOUT +
// NETMASK, NEW/SET_DEST need ADDR, PORT, FWD_METHOD, WEIGHT, U_THRESH, L_THRESH, else EINVAL.
import { HOST_LITTLE_ENDIAN, attr } from './attrs.ts';
import type { Attr } from './attrs.ts';
import { genlPayload } from './genl.ts';
import { afOf, ipToBytes } from './ip.ts';
import type { IPFamily } from '../model/types.ts';

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

// enum ipvs_cmd
export const IPVS_CMD_NEW_SERVICE = 1;
export const IPVS_CMD_SET_SERVICE = 2;
export const IPVS_CMD_DEL_SERVICE = 3;
export const IPVS_CMD_GET_SERVICE = 4;
export const IPVS_CMD_NEW_DEST = 5;
export const IPVS_CMD_SET_DEST = 6;
export const IPVS_CMD_DEL_DEST = 7;
export const IPVS_CMD_GET_DEST = 8;
export const IPVS_CMD_SET_CONFIG = 12;
export const IPVS_CMD_GET_CONFIG = 13;
export const IPVS_CMD_SET_INFO = 14;
export const IPVS_CMD_GET_INFO = 15;
export const IPVS_CMD_ZERO = 16;
export const IPVS_CMD_FLUSH = 17;

// IPVS_CMD_ATTR_*
export const IPVS_CMD_ATTR_SERVICE = 1;
export const IPVS_CMD_ATTR_DEST = 2;
export const IPVS_CMD_ATTR_TIMEOUT_TCP = 4;
export const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN = 5;
export const IPVS_CMD_ATTR_TIMEOUT_UDP = 6;

// IPVS_SVC_ATTR_*
export const IPVS_SVC_ATTR_AF = 1;
export const IPVS_SVC_ATTR_PROTOCOL = 2;
export const IPVS_SVC_ATTR_ADDR = 3;
export const IPVS_SVC_ATTR_PORT = 4;
export const IPVS_SVC_ATTR_FWMARK = 5;
export const IPVS_SVC_ATTR_SCHED_NAME = 6;
export const IPVS_SVC_ATTR_FLAGS = 7;
export const IPVS_SVC_ATTR_TIMEOUT = 8;
export const IPVS_SVC_ATTR_NETMASK = 9;
export const IPVS_SVC_ATTR_STATS = 10;
export const IPVS_SVC_ATTR_STATS64 = 12;

// IPVS_DEST_ATTR_*
export const IPVS_DEST_ATTR_ADDR = 1;
export const IPVS_DEST_ATTR_PORT = 2;
export const IPVS_DEST_ATTR_FWD_METHOD = 3;
export const IPVS_DEST_ATTR_WEIGHT = 4;
export const IPVS_DEST_ATTR_U_THRESH = 5;
export const IPVS_DEST_ATTR_L_THRESH = 6;
export const IPVS_DEST_ATTR_ACTIVE_CONNS = 7;
export const IPVS_DEST_ATTR_INACT_CONNS = 8;
export const IPVS_DEST_ATTR_PERSIST_CONNS = 9;
export const IPVS_DEST_ATTR_STATS = 10;
export const IPVS_DEST_ATTR_ADDR_FAMILY = 11;
export const IPVS_DEST_ATTR_STATS64 = 12;

// IPVS_INFO_ATTR_*
export const IPVS_INFO_ATTR_VERSION = 1;
export const IPVS_INFO_ATTR_CONN_TAB_SIZE = 2;

// Service flags (IP_VS_SVC_F_*). HASHED is kernel-internal and stripped when decoding.
export const IP_VS_SVC_F_PERSISTENT = 0x1;
export const IP_VS_SVC_F_HASHED = 0x2;
export const IP_VS_SVC_F_ONEPACKET = 0x4;
export const IP_VS_SVC_F_SCHED1 = 0x8;
export const IP_VS_SVC_F_SCHED2 = 0x10;
export const IP_VS_SVC_F_SCHED3 = 0x20;

// Forwarding methods (IP_VS_CONN_F_FWD_MASK values).
export const FORWARD_METHODS = { masq: 0, local: 1, tunnel: 2, route: 3, bypass: 4 } as const;
export type ForwardMethod = keyof typeof FORWARD_METHODS;

export const PROTOCOLS = { TCP: 6, UDP: 17, SCTP: 132 } as const;
export type IpvsProtocol = keyof typeof PROTOCOLS;

/** Identity of a virtual service: (af, protocol, address, port). */
export interface IpvsServiceKey {
  readonly family: IPFamily;
  readonly protocol: IpvsProtocol;
  readonly address: string;
  readonly port: number;
}

export interface IpvsService extends IpvsServiceKey {
  readonly scheduler: string;
  /** IP_VS_SVC_F_* without HASHED. */
  readonly flags: number;
  /** Persistence timeout in seconds (meaningful with IP_VS_SVC_F_PERSISTENT). */
  readonly timeout: number;
  /** Persistence netmask as a prefix length (32 / 128 for per-client persistence). */
  readonly prefixLength: number;
}

export interface IpvsDestinationKey {
  readonly address: string;
  readonly port: number;
}

export interface IpvsDestination extends IpvsDestinationKey {
  readonly forward: ForwardMethod;
  readonly weight: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
}

/** IPVS connection timeouts in seconds; 0 in a SET_CONFIG request keeps the kernel's value. */
export interface IpvsTimeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
}

/** `10.96.0.10:53/UDP`, `[fd00::a]:53/UDP`: how services are named in errors and logs. */
export function describeService(k: IpvsServiceKey): string {
  return `${k.family === 'IPv6' ? `[${k.address}]` : k.address}:${k.port}/${k.protocol}`;
}

export function describeDestination(d: IpvsDestinationKey): string {
  return d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${what}: invalid port ${port}`);
}

function serviceIdentity(k: IpvsServiceKey): Attr[] {
  const addr = ipToBytes(k.address);
  if (addr.byteLength !== (k.family === 'IPv4' ? 4 : 16)) {
    throw new RangeError(`ipvs: ${k.address} is not an ${k.family} address`);
  }
  checkPort(k.port, `ipvs: service ${k.address}`);
  return [
    attr.u16(IPVS_SVC_ATTR_AF, afOf(k.family)),
    attr.u16(IPVS_SVC_ATTR_PROTOCOL, PROTOCOLS[k.protocol]),
    attr.bytes(IPVS_SVC_ATTR_ADDR, addr),
    attr.be16(IPVS_SVC_ATTR_PORT, k.port),
  ];
}

/** Netmask attribute: IPv4 as mask bytes in network order, IPv6 as a host-order prefix length. */
function netmaskAttr(family: IPFamily, prefix: number): Attr {
  const max = family === 'IPv4' ? 32 : 128;
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > max) throw new RangeError(`ipvs: invalid netmask /${prefix}`);
  if (family === 'IPv6') return attr.u32(IPVS_SVC_ATTR_NETMASK, prefix);
  return attr.be32(IPVS_SVC_ATTR_NETMASK, prefix === 32 ? 0xffffffff : ~(0xffffffff >>> prefix) >>> 0);
}

function serviceFull(s: IpvsService): Attr[] {
  const flags = new Uint8Array(8); // struct ip_vs_flags { u32 flags; u32 mask; }, host order
  const fv = new DataView(flags.buffer);
  fv.setUint32(0, (s.flags & ~IP_VS_SVC_F_HASHED) >>> 0, HOST_LITTLE_ENDIAN);
  fv.setUint32(4, 0xffffffff, HOST_LITTLE_ENDIAN);
  return [
    ...serviceIdentity(s),
    attr.str(IPVS_SVC_ATTR_SCHED_NAME, s.scheduler),
    attr.bytes(IPVS_SVC_ATTR_FLAGS, flags),
    attr.u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout),
    netmaskAttr(s.family, s.prefixLength),
  ];
}

function destFull(d: IpvsDestination): Attr[] {
  checkPort(d.port, `ipvs: destination ${d.address}`);
  if (!Number.isInteger(d.weight) || d.weight < 0 || d.weight > 0x7fffffff) {
    throw new RangeError(`ipvs: destination ${describeDestination(d)}: invalid weight ${d.weight}`);
  }
  return [
    attr.bytes(IPVS_DEST_ATTR_ADDR, ipToBytes(d.address)),
    attr.be16(IPVS_DEST_ATTR_PORT, d.port),
    attr.u32(IPVS_DEST_ATTR_FWD_METHOD, FORWARD_METHODS[d.forward]),
    attr.u32(IPVS_DEST_ATTR_WEIGHT, d.weight),
    attr.u32(IPVS_DEST_ATTR_U_THRESH, d.upperThreshold),
    attr.u32(IPVS_DEST_ATTR_L_THRESH, d.lowerThreshold),
  ];
}

const req = (cmd: number, attrs: readonly Attr[]): Uint8Array => genlPayload(cmd, IPVS_GENL_VERSION, attrs);
const svcNest = (attrs: readonly Attr[]): Attr => attr.nest(IPVS_CMD_ATTR_SERVICE, attrs);

/** Generic-netlink payloads (genlmsghdr + attributes) for each IPVS request. */
export const ipvsRequest = {
  newService: (s: IpvsService): Uint8Array => req(IPVS_CMD_NEW_SERVICE, [svcNest(serviceFull(s))]),
  setService: (s: IpvsService): Uint8Array => req(IPVS_CMD_SET_SERVICE, [svcNest(serviceFull(s))]),
  delService: (k: IpvsServiceKey): Uint8Array => req(IPVS_CMD_DEL_SERVICE, [svcNest(serviceIdentity(k))]),
  /** doit GET of one service: ESRCH when absent. */
  getService: (k: IpvsServiceKey): Uint8Array => req(IPVS_CMD_GET_SERVICE, [svcNest(serviceIdentity(k))]),
  /** Send with NLM_F_DUMP. */
  dumpServices: (): Uint8Array => req(IPVS_CMD_GET_SERVICE, []),
  newDest: (k: IpvsServiceKey, d: IpvsDestination): Uint8Array =>
    req(IPVS_CMD_NEW_DEST, [svcNest(serviceIdentity(k)), attr.nest(IPVS_CMD_ATTR_DEST, destFull(d))]),
  setDest: (k: IpvsServiceKey, d: IpvsDestination): Uint8Array =>
    req(IPVS_CMD_SET_DEST, [svcNest(serviceIdentity(k)), attr.nest(IPVS_CMD_ATTR_DEST, destFull(d))]),
  delDest: (k: IpvsServiceKey, d: IpvsDestinationKey): Uint8Array =>
    req(IPVS_CMD_DEL_DEST, [
      svcNest(serviceIdentity(k)),
      attr.nest(IPVS_CMD_ATTR_DEST, [attr.bytes(IPVS_DEST_ATTR_ADDR, ipToBytes(d.address)), attr.be16(IPVS_DEST_ATTR_PORT, d.port)]),
    ]),
  /** GET_DEST is dump-only (send with NLM_F_DUMP); a missing service yields an empty dump. */
  dumpDests: (k: IpvsServiceKey): Uint8Array => req(IPVS_CMD_GET_DEST, [svcNest(serviceIdentity(k))]),
  getConfig: (): Uint8Array => req(IPVS_CMD_GET_CONFIG, []),
  setConfig: (t: IpvsTimeouts): Uint8Array =>
    req(IPVS_CMD_SET_CONFIG, [
      attr.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp),
      attr.u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcpFin),
      attr.u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp),
    ]),
  getInfo: (): Uint8Array => req(IPVS_CMD_GET_INFO, []),
  /** Deletes every virtual service in the network namespace: --cleanup only. */
  flush: (): Uint8Array => req(IPVS_CMD_FLUSH, []),
};
