// The node's IPs as upstream kube-proxy determines them (cmd/kube-proxy/app/server.go
// detectNodeIPs, pkg/util/node GetNodeHostIPs): the Node object's status.addresses, InternalIP
// before ExternalIP, at most one per family with the first address's family primary; a bindAddress
// other than 0.0.0.0/:: overrides the primary; with neither, loopback (127.0.0.1, ::1). Pure.
import type { V1Node } from '@kubernetes/client-node';
import ipaddr from 'ipaddr.js';
import type { IPFamily } from '../model/types.ts';
import { ipFamily } from './net.ts';

export type NodeIPSource = 'bindAddress' | 'node' | 'loopback';

export interface NodeIPs {
  readonly primaryFamily: IPFamily;
  /** One IP per family; loopback for a family nothing names. */
  readonly byFamily: Readonly<Record<IPFamily, string>>;
  /** Where the primary IP came from; 'loopback' means it could not be determined. */
  readonly source: NodeIPSource;
}

const familyOf = ipFamily;

/** Whether Go's net.IP.IsLoopback would say so (127.0.0.0/8, ::1). */
export function isLoopbackIP(ip: string): boolean {
  return familyOf(ip) !== null && ipaddr.parse(ip).range() === 'loopback';
}

function isUnspecifiedIP(ip: string): boolean {
  return ipaddr.parse(ip).range() === 'unspecified';
}

/**
 * upstream GetNodeHostIPs: InternalIPs then ExternalIPs (unparseable ones skipped); the first is
 * primary, plus the first of the other family. Empty when the Node has no usable address.
 */
export function nodeHostIPs(node: Pick<V1Node, 'status'>): string[] {
  const addrs = node.status?.addresses ?? [];
  const all: string[] = [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    for (const a of addrs) if (a.type === type && familyOf(a.address) !== null) all.push(a.address);
  }
  const first = all[0];
  if (first === undefined) return [];
  const other = all.find((ip) => familyOf(ip) !== familyOf(first));
  return other === undefined ? [first] : [first, other];
}

/** upstream detectNodeIPs: bindAddress (when specified) > the Node's IPs > loopback. */
export function detectNodeIPs(rawNodeIPs: readonly string[], bindAddress: string): NodeIPs {
  let primaryFamily: IPFamily = 'IPv4';
  const byFamily: Record<IPFamily, string> = { IPv4: '127.0.0.1', IPv6: '::1' };
  let source: NodeIPSource = 'loopback';
  const [first, second] = rawNodeIPs;
  const firstFamily = first === undefined ? null : familyOf(first);
  if (first !== undefined && firstFamily !== null) {
    primaryFamily = firstFamily;
    byFamily[firstFamily] = first;
    source = 'node';
    const secondFamily = second === undefined ? null : familyOf(second);
    if (second !== undefined && secondFamily !== null) byFamily[secondFamily] = second;
  }
  const bindFamily = familyOf(bindAddress);
  if (bindFamily !== null && !isUnspecifiedIP(bindAddress)) {
    primaryFamily = bindFamily;
    byFamily[bindFamily] = bindAddress;
    source = 'bindAddress';
  }
  if (isLoopbackIP(byFamily[primaryFamily])) source = 'loopback';
  return { primaryFamily, byFamily, source };
}

/**
 * The non-loopback node IPs of the given families, primary first: what nodePortAddresses
 * "primary" expands to (upstream skips a loopback node IP there, leaving "all addresses").
 */
export function primaryNodeIPs(ips: NodeIPs, families: readonly IPFamily[]): string[] {
  const order: IPFamily[] = ips.primaryFamily === 'IPv4' ? ['IPv4', 'IPv6'] : ['IPv6', 'IPv4'];
  return order.filter((f) => families.includes(f)).map((f) => ips.byFamily[f]).filter((ip) => !isLoopbackIP(ip));
}
