// A small cluster made of network namespaces, for every mode's end-to-end tests:
//
//   client (192.0.2.100) ──┐
//   node-1 (192.0.2.11) ───┤ switch (bridge br0, 192.0.2.1)      node-i: bridge cbr0 10.244.i.1/24,
//   node-2 (192.0.2.12) ───┘                                      pods 10.244.i.(10+j), ip_forward on
//
// Each node routes the other nodes' pod CIDRs via their underlay address and has a default route via
// 192.0.2.1 (so node-originated ClusterIP traffic has a route before OUTPUT DNAT). The client's
// default route points at node-1, so external IPs and LB VIPs reach node-1 unless a test adds
// routes. Pods run test/support/echo-server.ts. Nothing is linked to the root namespace.
//
// With `ipv6: true` every address gets an IPv6 twin (dual-stack underlay and pods): switch
// 2001:db8:0:2::1/64, client ::100, node-i ::(10+i), pod bridge fd00:10:244:i::1/64 (inside
// fd00:10:244::/56), pods fd00:10:244:i::(10+j); the same routes per family, IPv6 forwarding on the
// nodes, and no duplicate address detection so addresses are usable at once.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Reply } from './net-client.ts';
import {
  createNamespace,
  deleteAllNamespaces,
  execIn,
  ipIn,
  spawnIn,
  sysctlIn,
  vethBetween,
  type NsProcess,
} from './netns.ts';

export type { Reply } from './net-client.ts';

export interface PodSpec {
  readonly name: string;
  /** Defaults to the topology's ports. */
  readonly tcpPorts?: readonly number[];
  readonly udpPorts?: readonly number[];
}

export interface NodeSpec {
  readonly name: string;
  readonly pods: readonly PodSpec[];
}

export interface TopologySpec {
  readonly nodes: readonly NodeSpec[];
  /** Ports every pod's echo server listens on unless the pod says otherwise (default [80] / [53]). */
  readonly tcpPorts?: readonly number[];
  readonly udpPorts?: readonly number[];
  /** Also give every namespace an IPv6 address (dual-stack); default false. */
  readonly ipv6?: boolean;
}

export interface NodeHandle {
  readonly name: string;
  readonly ns: string;
  /** Underlay address on the switch, 192.0.2.(10+i). */
  readonly ip: string;
  readonly podCIDR: string;
  /** The pod bridge's address, the pods' gateway. */
  readonly bridgeIP: string;
  /** IPv6 twins of the above, only with `ipv6: true`. */
  readonly ip6?: string;
  readonly podCIDR6?: string;
  readonly bridgeIP6?: string;
}

export interface PodHandle {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly node: string;
  readonly server: NsProcess;
  /** Only with `ipv6: true`. */
  readonly ip6?: string;
}

export interface RequestOptions {
  readonly count?: number;
  readonly timeoutMs?: number;
}

export interface Topology {
  readonly switchNs: string;
  readonly client: { readonly ns: string; readonly ip: string; readonly ip6?: string };
  readonly nodes: readonly NodeHandle[];
  readonly pods: readonly PodHandle[];
  node(name: string): NodeHandle;
  pod(name: string): PodHandle;
  /** Stop every process and delete every namespace of this run (idempotent). */
  teardown(): Promise<void>;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
export const ECHO_SERVER = here('./echo-server.ts');
export const NET_CLIENT = here('./net-client.ts');

export const SWITCH_IP = '192.0.2.1';
export const CLIENT_IP = '192.0.2.100';
export const nodeIP = (i: number): string => `192.0.2.${10 + i}`;
export const podCIDR = (i: number): string => `10.244.${i}.0/24`;

export const SWITCH_IP6 = '2001:db8:0:2::1';
export const CLIENT_IP6 = '2001:db8:0:2::100';
export const nodeIP6 = (i: number): string => `2001:db8:0:2::${10 + i}`;
export const podCIDR6 = (i: number): string => `fd00:10:244:${i}::/64`;
const bridgeIP6 = (i: number): string => `fd00:10:244:${i}::1`;
const podIP6 = (i: number, j: number): string => `fd00:10:244:${i}::${10 + j}`;

/**
 * An IPv6 address usable at once: `nodad` skips duplicate address detection, which would keep it
 * tentative (unusable as a source) for a second or more.
 */
async function addAddr6(ns: string, cidr: string, dev: string): Promise<void> {
  await ipIn(ns, ['-6', 'addr', 'add', cidr, 'dev', dev, 'nodad']);
}

/** No DAD on links created later either (veth peers, bridges), so link-locals are never tentative. */
async function noDad(ns: string): Promise<void> {
  await sysctlIn(ns, 'net.ipv6.conf.all.accept_dad', '0');
  await sysctlIn(ns, 'net.ipv6.conf.default.accept_dad', '0');
}

export async function buildTopology(spec: TopologySpec): Promise<Topology> {
  const tcpDefault = spec.tcpPorts ?? [80];
  const udpDefault = spec.udpPorts ?? [53];
  const v6 = spec.ipv6 === true;
  const newNs = async (tag: string): Promise<string> => {
    const ns = await createNamespace(tag);
    if (v6) await noDad(ns);
    return ns;
  };
  const switchNs = await newNs('switch');
  await ipIn(switchNs, ['link', 'add', 'name', 'br0', 'type', 'bridge']);
  await ipIn(switchNs, ['link', 'set', 'br0', 'up']);
  await ipIn(switchNs, ['addr', 'add', `${SWITCH_IP}/24`, 'dev', 'br0']);
  if (v6) await addAddr6(switchNs, `${SWITCH_IP6}/64`, 'br0');

  const clientNs = await newNs('client');
  await attachToSwitch(switchNs, clientNs, 'pc', CLIENT_IP);
  await ipIn(clientNs, ['route', 'add', 'default', 'via', nodeIP(1)]);
  if (v6) {
    await addAddr6(clientNs, `${CLIENT_IP6}/64`, 'eth0');
    await ipIn(clientNs, ['-6', 'route', 'add', 'default', 'via', nodeIP6(1)]);
  }

  const nodes: NodeHandle[] = [];
  const pods: PodHandle[] = [];
  for (const [idx, n] of spec.nodes.entries()) {
    const i = idx + 1;
    const ns = await newNs(n.name);
    await attachToSwitch(switchNs, ns, `pn${i}`, nodeIP(i));
    await ipIn(ns, ['route', 'add', 'default', 'via', SWITCH_IP]);
    await ipIn(ns, ['link', 'add', 'name', 'cbr0', 'type', 'bridge']);
    await ipIn(ns, ['link', 'set', 'cbr0', 'up']);
    await ipIn(ns, ['addr', 'add', `10.244.${i}.1/24`, 'dev', 'cbr0']);
    await sysctlIn(ns, 'net.ipv4.ip_forward', '1');
    for (const j of spec.nodes.keys()) {
      if (j !== idx) await ipIn(ns, ['route', 'add', podCIDR(j + 1), 'via', nodeIP(j + 1)]);
    }
    const node: NodeHandle = { name: n.name, ns, ip: nodeIP(i), podCIDR: podCIDR(i), bridgeIP: `10.244.${i}.1` };
    if (v6) {
      await addAddr6(ns, `${nodeIP6(i)}/64`, 'eth0');
      await ipIn(ns, ['-6', 'route', 'add', 'default', 'via', SWITCH_IP6]);
      await addAddr6(ns, `${bridgeIP6(i)}/64`, 'cbr0');
      await sysctlIn(ns, 'net.ipv6.conf.all.forwarding', '1');
      for (const j of spec.nodes.keys()) {
        if (j !== idx) await ipIn(ns, ['-6', 'route', 'add', podCIDR6(j + 1), 'via', nodeIP6(j + 1)]);
      }
    }
    nodes.push(v6 ? { ...node, ip6: nodeIP6(i), podCIDR6: podCIDR6(i), bridgeIP6: bridgeIP6(i) } : node);
    for (const [j, p] of n.pods.entries()) {
      const podNs = await newNs(p.name);
      const ip = `10.244.${i}.${10 + j}`;
      await vethBetween(ns, `vp${j}`, podNs, 'eth0');
      await ipIn(ns, ['link', 'set', `vp${j}`, 'master', 'cbr0']);
      // As the CNI bridge plugin with hairpinMode (kubelet's hairpin-veth): with br_netfilter a
      // pod DNATed to itself is bridged back out of the port it came in on.
      await ipIn(ns, ['link', 'set', `vp${j}`, 'type', 'bridge_slave', 'hairpin', 'on']);
      await ipIn(podNs, ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await ipIn(podNs, ['route', 'add', 'default', 'via', `10.244.${i}.1`]);
      if (v6) {
        await addAddr6(podNs, `${podIP6(i, j)}/64`, 'eth0');
        await ipIn(podNs, ['-6', 'route', 'add', 'default', 'via', bridgeIP6(i)]);
      }
      const server = spawnIn(podNs, process.execPath, [
        ECHO_SERVER,
        p.name,
        (p.tcpPorts ?? tcpDefault).join(','),
        (p.udpPorts ?? udpDefault).join(','),
        ...(v6 ? ['ipv6'] : []),
      ]);
      pods.push({ name: p.name, ns: podNs, ip, node: n.name, server, ...(v6 ? { ip6: podIP6(i, j) } : {}) });
    }
  }
  await Promise.all(pods.map((p) => p.server.waitForLine((l) => l === 'ready')));

  return {
    switchNs,
    client: { ns: clientNs, ip: CLIENT_IP, ...(v6 ? { ip6: CLIENT_IP6 } : {}) },
    nodes,
    pods,
    node: (name) => find(nodes, name, 'node'),
    pod: (name) => find(pods, name, 'pod'),
    teardown: deleteAllNamespaces,
  };
}

async function attachToSwitch(switchNs: string, ns: string, port: string, ip: string): Promise<void> {
  await vethBetween(switchNs, port, ns, 'eth0');
  await ipIn(switchNs, ['link', 'set', port, 'master', 'br0']);
  await ipIn(ns, ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
}

function find<T extends { readonly name: string }>(list: readonly T[], name: string, what: string): T {
  const hit = list.find((x) => x.name === name);
  if (!hit) throw new Error(`no ${what} named ${name}`);
  return hit;
}

/** `count` sequential TCP requests from inside `ns`; each reply names the pod and the source it saw. */
export function tcpRequest(ns: string, ip: string, port: number, opts: RequestOptions = {}): Promise<Reply[]> {
  return request('tcp', ns, ip, port, opts);
}

/** The same over UDP (one datagram, one reply). */
export function udpRequest(ns: string, ip: string, port: number, opts: RequestOptions = {}): Promise<Reply[]> {
  return request('udp', ns, ip, port, opts);
}

function request(proto: 'tcp' | 'udp', ns: string, ip: string, port: number, opts: RequestOptions): Promise<Reply[]> {
  const count = opts.count ?? 1;
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const args = ['netns', 'exec', ns, process.execPath, NET_CLIENT, proto, ip, String(port), String(count), String(timeoutMs)];
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: count * timeoutMs + 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${proto} client in ${ns} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Reply[]);
    });
  });
}

/** Pod names of the successful replies, counted. */
export function tally(replies: readonly Reply[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of replies) {
    const key = r.ok ? r.pod : `error:${r.error}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

export { execIn, ipIn, spawnIn, sysctlIn };
