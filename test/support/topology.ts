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
}

export interface NodeHandle {
  readonly name: string;
  readonly ns: string;
  /** Underlay address on the switch, 192.0.2.(10+i). */
  readonly ip: string;
  readonly podCIDR: string;
  /** The pod bridge's address, the pods' gateway. */
  readonly bridgeIP: string;
}

export interface PodHandle {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly node: string;
  readonly server: NsProcess;
}

export interface RequestOptions {
  readonly count?: number;
  readonly timeoutMs?: number;
}

export interface Topology {
  readonly switchNs: string;
  readonly client: { readonly ns: string; readonly ip: string };
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

export async function buildTopology(spec: TopologySpec): Promise<Topology> {
  const tcpDefault = spec.tcpPorts ?? [80];
  const udpDefault = spec.udpPorts ?? [53];
  const switchNs = await createNamespace('switch');
  await ipIn(switchNs, ['link', 'add', 'name', 'br0', 'type', 'bridge']);
  await ipIn(switchNs, ['link', 'set', 'br0', 'up']);
  await ipIn(switchNs, ['addr', 'add', `${SWITCH_IP}/24`, 'dev', 'br0']);

  const clientNs = await createNamespace('client');
  await attachToSwitch(switchNs, clientNs, 'pc', CLIENT_IP);
  await ipIn(clientNs, ['route', 'add', 'default', 'via', nodeIP(1)]);

  const nodes: NodeHandle[] = [];
  const pods: PodHandle[] = [];
  for (const [idx, n] of spec.nodes.entries()) {
    const i = idx + 1;
    const ns = await createNamespace(n.name);
    await attachToSwitch(switchNs, ns, `pn${i}`, nodeIP(i));
    await ipIn(ns, ['route', 'add', 'default', 'via', SWITCH_IP]);
    await ipIn(ns, ['link', 'add', 'name', 'cbr0', 'type', 'bridge']);
    await ipIn(ns, ['link', 'set', 'cbr0', 'up']);
    await ipIn(ns, ['addr', 'add', `10.244.${i}.1/24`, 'dev', 'cbr0']);
    await sysctlIn(ns, 'net.ipv4.ip_forward', '1');
    for (const j of spec.nodes.keys()) {
      if (j !== idx) await ipIn(ns, ['route', 'add', podCIDR(j + 1), 'via', nodeIP(j + 1)]);
    }
    nodes.push({ name: n.name, ns, ip: nodeIP(i), podCIDR: podCIDR(i), bridgeIP: `10.244.${i}.1` });
    for (const [j, p] of n.pods.entries()) {
      const podNs = await createNamespace(p.name);
      const ip = `10.244.${i}.${10 + j}`;
      await vethBetween(ns, `vp${j}`, podNs, 'eth0');
      await ipIn(ns, ['link', 'set', `vp${j}`, 'master', 'cbr0']);
      // As the CNI bridge plugin with hairpinMode (kubelet's hairpin-veth): with br_netfilter a
      // pod DNATed to itself is bridged back out of the port it came in on.
      await ipIn(ns, ['link', 'set', `vp${j}`, 'type', 'bridge_slave', 'hairpin', 'on']);
      await ipIn(podNs, ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await ipIn(podNs, ['route', 'add', 'default', 'via', `10.244.${i}.1`]);
      const server = spawnIn(podNs, process.execPath, [
        ECHO_SERVER,
        p.name,
        (p.tcpPorts ?? tcpDefault).join(','),
        (p.udpPorts ?? udpDefault).join(','),
      ]);
      pods.push({ name: p.name, ns: podNs, ip, node: n.name, server });
    }
  }
  await Promise.all(pods.map((p) => p.server.waitForLine((l) => l === 'ready')));

  return {
    switchNs,
    client: { ns: clientNs, ip: CLIENT_IP },
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
