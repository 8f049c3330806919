// Decoding IPVS replies (include/uapi/linux/ip_vs.h; ip_vs_ctl.c ip_vs_genl_fill_service /
// ip_vs_genl_fill_dest / ip_vs_genl_fill_stats64). Addresses come back as 16 bytes whatever the
// family; flags always carry IP_VS_SVC_F_HASHED, which is stripped so services compare equal to
// what was sent.
import type { Attrs } from './attrs.ts';
import { parseGenl } from './genl.ts';
import { bytesToIp, familyOfAf } from './ip.ts';
import type { IPFamily } from '../model/types.ts';
import * as I from './ipvs.ts';
import type { ForwardMethod, IpvsDestination, IpvsProtocol, IpvsService, IpvsTimeouts } from './ipvs.ts';

/** Counters of a service or destination (IPVS_STATS_ATTR_*; rates are per second). */
export interface IpvsStats {
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
  readonly cps: number;
  readonly inPps: number;
  readonly outPps: number;
  readonly inBps: number;
  readonly outBps: number;
}

export interface IpvsServiceInfo extends IpvsService {
  /** Set when the service is identified by firewall mark instead of address (not used by us). */
  readonly fwmark?: number;
  readonly stats?: IpvsStats;
}

export interface IpvsDestinationInfo extends IpvsDestination {
  readonly family: IPFamily;
  readonly activeConns: number;
  readonly inactiveConns: number;
  readonly persistentConns: number;
  readonly stats?: IpvsStats;
}

const STATS_FIELDS = ['conns', 'inPackets', 'outPackets', 'inBytes', 'outBytes', 'cps', 'inPps', 'outPps', 'inBps', 'outBps'] as const;

/** STATS64 has every counter as u64; the legacy STATS has u32 counters and u64 byte counts. */
function parseStats(a: Attrs | undefined, all64: boolean): IpvsStats | undefined {
  if (a === undefined) return undefined;
  const out: Record<string, number> = {};
  STATS_FIELDS.forEach((name, i) => {
    const type = i + 1; // IPVS_STATS_ATTR_CONNS = 1 … OUTBPS = 10, in this order
    const is64 = all64 || name === 'inBytes' || name === 'outBytes';
    out[name] = Number((is64 ? a.u64(type) : BigInt(a.u32(type) ?? 0)) ?? 0n);
  });
  return out as unknown as IpvsStats;
}

const PROTOCOL_NAMES = new Map<number, IpvsProtocol>(
  Object.entries(I.PROTOCOLS).map(([name, n]) => [n, name as IpvsProtocol]),
);
const FORWARD_NAMES = new Map<number, ForwardMethod>(
  Object.entries(I.FORWARD_METHODS).map(([name, n]) => [n, name as ForwardMethod]),
);

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`ipvs: reply without ${what}`);
  return v;
}

function prefixFromMask(mask: number): number {
  let n = 0;
  while (n < 32 && (mask & (0x80000000 >>> n)) !== 0) n++;
  return n;
}

/** One IPVS_CMD_NEW_SERVICE message (a GET_SERVICE dump part or doit reply). */
export function parseService(payload: Uint8Array): IpvsServiceInfo {
  const g = parseGenl(payload);
  const s = need(g.attrs.nested(I.IPVS_CMD_ATTR_SERVICE), 'IPVS_CMD_ATTR_SERVICE');
  const family = familyOfAf(need(s.u16(I.IPVS_SVC_ATTR_AF), 'IPVS_SVC_ATTR_AF'));
  const protoNum = s.u16(I.IPVS_SVC_ATTR_PROTOCOL) ?? 0;
  const flagsBytes = s.bytes(I.IPVS_SVC_ATTR_FLAGS);
  const flags = flagsBytes !== undefined && flagsBytes.byteLength >= 4 ? (s.u32(I.IPVS_SVC_ATTR_FLAGS) ?? 0) : 0;
  const rawMask = s.u32(I.IPVS_SVC_ATTR_NETMASK);
  const fwmark = s.u32(I.IPVS_SVC_ATTR_FWMARK);
  const addr = s.bytes(I.IPVS_SVC_ATTR_ADDR);
  const stats = parseStats(s.nested(I.IPVS_SVC_ATTR_STATS64), true) ?? parseStats(s.nested(I.IPVS_SVC_ATTR_STATS), false);
  return {
    family,
    protocol: PROTOCOL_NAMES.get(protoNum) ?? 'TCP',
    address: addr === undefined ? (family === 'IPv4' ? '0.0.0.0' : '::') : bytesToIp(addr, family),
    port: s.be16(I.IPVS_SVC_ATTR_PORT) ?? 0,
    scheduler: s.str(I.IPVS_SVC_ATTR_SCHED_NAME) ?? '',
    flags: (flags & ~I.IP_VS_SVC_F_HASHED) >>> 0,
    timeout: s.u32(I.IPVS_SVC_ATTR_TIMEOUT) ?? 0,
    prefixLength:
      rawMask === undefined ? (family === 'IPv4' ? 32 : 128) : family === 'IPv4' ? prefixFromMask(s.be32(I.IPVS_SVC_ATTR_NETMASK) ?? 0) : rawMask,
    ...(fwmark !== undefined && fwmark !== 0 ? { fwmark } : {}),
    ...(stats !== undefined ? { stats } : {}),
  };
}

/**
 * One IPVS_CMD_NEW_DEST message of a GET_DEST dump. Old kernels omit DEST_ATTR_ADDR_FAMILY; then
 * the service's family applies (never guessed from the bytes, which breaks for IPv6).
 */
export function parseDestination(payload: Uint8Array, serviceFamily: IPFamily): IpvsDestinationInfo {
  const g = parseGenl(payload);
  const d = need(g.attrs.nested(I.IPVS_CMD_ATTR_DEST), 'IPVS_CMD_ATTR_DEST');
  const af = d.u16(I.IPVS_DEST_ATTR_ADDR_FAMILY);
  const family = af === undefined || af === 0 ? serviceFamily : familyOfAf(af);
  const fwd = (d.u32(I.IPVS_DEST_ATTR_FWD_METHOD) ?? 0) & 0x7;
  const stats = parseStats(d.nested(I.IPVS_DEST_ATTR_STATS64), true) ?? parseStats(d.nested(I.IPVS_DEST_ATTR_STATS), false);
  return {
    family,
    address: bytesToIp(need(d.bytes(I.IPVS_DEST_ATTR_ADDR), 'IPVS_DEST_ATTR_ADDR'), family),
    port: need(d.be16(I.IPVS_DEST_ATTR_PORT), 'IPVS_DEST_ATTR_PORT'),
    forward: FORWARD_NAMES.get(fwd) ?? 'masq',
    // The kernel keeps the weight as a signed int (ip_vs_ctl.c); it is never negative once set.
    weight: d.s32(I.IPVS_DEST_ATTR_WEIGHT) ?? 0,
    upperThreshold: d.u32(I.IPVS_DEST_ATTR_U_THRESH) ?? 0,
    lowerThreshold: d.u32(I.IPVS_DEST_ATTR_L_THRESH) ?? 0,
    activeConns: d.u32(I.IPVS_DEST_ATTR_ACTIVE_CONNS) ?? 0,
    inactiveConns: d.u32(I.IPVS_DEST_ATTR_INACT_CONNS) ?? 0,
    persistentConns: d.u32(I.IPVS_DEST_ATTR_PERSIST_CONNS) ?? 0,
    ...(stats !== undefined ? { stats } : {}),
  };
}

/** The IPVS_CMD_SET_CONFIG reply to GET_CONFIG. */
export function parseConfig(payload: Uint8Array): IpvsTimeouts {
  const a = parseGenl(payload).attrs;
  return {
    tcp: a.u32(I.IPVS_CMD_ATTR_TIMEOUT_TCP) ?? 0,
    tcpFin: a.u32(I.IPVS_CMD_ATTR_TIMEOUT_TCP_FIN) ?? 0,
    udp: a.u32(I.IPVS_CMD_ATTR_TIMEOUT_UDP) ?? 0,
  };
}

export interface IpvsInfo {
  /** e.g. 0x010201 for 1.2.1. */
  readonly version: number;
  readonly connTableSize: number;
}

/** The IPVS_CMD_SET_INFO reply to GET_INFO. */
export function parseInfo(payload: Uint8Array): IpvsInfo {
  const a = parseGenl(payload).attrs;
  return { version: a.u32(I.IPVS_INFO_ATTR_VERSION) ?? 0, connTableSize: a.u32(I.IPVS_INFO_ATTR_CONN_TAB_SIZE) ?? 0 };
}

