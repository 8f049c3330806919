// An IPv6-only cluster of network namespaces (test/iptables-ipv6-only.test.ts): the layout of
// topology.ts without any IPv4 address but loopback's, so a daemon there sees a node with no IPv4
// node IP, no IPv4 pods and no IPv4 route, while the kernel still has IPv4 (as on a real
// IPv6-only node, where upstream kube-proxy still finds iptables for both families).
//
//   client 2001:db8:0:2::100 ──┐ switch br0 2001:db8:0:2::1/64     node-i: cbr0 fd00:10:244:i::1/64,
//   node-i 2001:db8:0:2::(10+i) ┘                                   pods fd00:10:244:i::(10+j)
//
// The client's default route points at the first node. Pods run echo-server.ts on 8080/TCP and
// 5353/UDP. Namespaces are tagged `v6g-`; nothing is linked to the root namespace.
import { createNamespace, deleteAllNamespaces, ipIn, spawnIn, sysctlIn, vethBetween, type NsProcess } from './netns.ts';
import { CLIENT_IP6, ECHO_SERVER, nodeIP6, podCIDR6, SWITCH_IP6 } from './topology.ts';

export interface V6Node {
  readonly name: string;
  readonly ns: string;
  readonly ip6: string;
  readonly podCIDR6: string;
}

export interface V6Pod {
  readonly name: string;
  readonly ns: string;
  readonly ip6: string;
  readonly node: string;
  readonly server: NsProcess;
}

export interface V6OnlyTopology {
  readonly client: { readonly ns: string; readonly ip6: string };
  readonly nodes: readonly V6Node[];
  node(name: string): V6Node;
  pod(name: string): V6Pod;
  teardown(): Promise<void>;
}

/** `nodad`: an address usable at once (no duplicate address detection keeping it tentative). */
const addr6 = (ns: string, cidr: string, dev: string) => ipIn(ns, ['-6', 'addr', 'add', cidr, 'dev', dev, 'nodad']);

async function newNs(tag: string): Promise<string> {
  const ns = await createNamespace(`v6g-${tag}`);
  await sysctlIn(ns, 'net.ipv6.conf.all.accept_dad', '0');
  await sysctlIn(ns, 'net.ipv6.conf.default.accept_dad', '0');
  return ns;
}

async function onSwitch(switchNs: string, ns: string, port: string, ip6: string): Promise<void> {
  await vethBetween(switchNs, port, ns, 'eth0');
  await ipIn(switchNs, ['link', 'set', port, 'master', 'br0']);
  await addr6(ns, `${ip6}/64`, 'eth0');
}

/** `nodes`: node name → its pods' names. */
export async function buildIPv6OnlyTopology(nodes: readonly (readonly [string, readonly string[]])[]): Promise<V6OnlyTopology> {
  const switchNs = await newNs('switch');
  await ipIn(switchNs, ['link', 'add', 'name', 'br0', 'type', 'bridge']);
  await ipIn(switchNs, ['link', 'set', 'br0', 'up']);
  await addr6(switchNs, `${SWITCH_IP6}/64`, 'br0');
  const clientNs = await newNs('client');
  await onSwitch(switchNs, clientNs, 'pc', CLIENT_IP6);
  await ipIn(clientNs, ['-6', 'route', 'add', 'default', 'via', nodeIP6(1)]);

  const handles: V6Node[] = [];
  const pods: V6Pod[] = [];
  for (const [idx, [name, podNames]] of nodes.entries()) {
    const i = idx + 1;
    const ns = await newNs(name);
    await onSwitch(switchNs, ns, `pn${i}`, nodeIP6(i));
    await ipIn(ns, ['-6', 'route', 'add', 'default', 'via', SWITCH_IP6]);
    await ipIn(ns, ['link', 'add', 'name', 'cbr0', 'type', 'bridge']);
    await ipIn(ns, ['link', 'set', 'cbr0', 'up']);
    await addr6(ns, `fd00:10:244:${i}::1/64`, 'cbr0');
    await sysctlIn(ns, 'net.ipv6.conf.all.forwarding', '1');
    for (const j of nodes.keys()) if (j !== idx) await ipIn(ns, ['-6', 'route', 'add', podCIDR6(j + 1), 'via', nodeIP6(j + 1)]);
    handles.push({ name, ns, ip6: nodeIP6(i), podCIDR6: podCIDR6(i) });
    for (const [j, pod] of podNames.entries()) {
      const podNs = await newNs(pod);
      const ip6 = `fd00:10:244:${i}::${10 + j}`;
      await vethBetween(ns, `vp${j}`, podNs, 'eth0');
      await ipIn(ns, ['link', 'set', `vp${j}`, 'master', 'cbr0']);
      await addr6(podNs, `${ip6}/64`, 'eth0');
      await ipIn(podNs, ['-6', 'route', 'add', 'default', 'via', `fd00:10:244:${i}::1`]);
      const server = spawnIn(podNs, process.execPath, [ECHO_SERVER, pod, '8080', '5353', 'ipv6']);
      pods.push({ name: pod, ns: podNs, ip6, node: name, server });
    }
  }
  await Promise.all(pods.map((p) => p.server.waitForLine((l) => l === 'ready')));
  const find = <T extends { readonly name: string }>(list: readonly T[], name: string): T => {
    const hit = list.find((x) => x.name === name);
    if (hit === undefined) throw new Error(`no ${name} in the IPv6-only topology`);
    return hit;
  };
  return {
    client: { ns: clientNs, ip6: CLIENT_IP6 },
    nodes: handles,
    node: (name) => find(handles, name),
    pod: (name) => find(pods, name),
    teardown: deleteAllNamespaces,
  };
}
