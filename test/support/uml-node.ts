// Inside the IPVS test kernel: its root namespace plays the node. Pods are namespaces on bridge
// cbr0 (10.244.1.0/24, gateway 10.244.1.1) running echo servers (TCP 8080, UDP 5353); an
// off-node client is a namespace on its own veth, routed via the node address. Shared by the UML
// drivers (ipvs mode, migration); never used on the host.
import { execFile, execFileSync } from 'node:child_process';
import type { Reply } from './net-client.ts';
import { createNamespace, ipIn, spawnIn } from './netns.ts';
import { ECHO_SERVER, NET_CLIENT } from './topology.ts';

export interface UmlNode {
  readonly pods: readonly { readonly name: string; readonly ip: string; readonly ns: string }[];
  readonly client: string;
}

const ip = (args: string[]): void => void execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export async function buildUmlNode(o: { podNames: readonly string[]; nodeIP: string; clientIP: string }): Promise<UmlNode> {
  ip(['link', 'add', 'cbr0', 'type', 'bridge']);
  ip(['addr', 'add', '10.244.1.1/24', 'dev', 'cbr0']);
  ip(['link', 'set', 'cbr0', 'up']);
  const pods = [];
  for (const [i, name] of o.podNames.entries()) {
    const podIP = `10.244.1.${11 + i}`;
    const ns = await createNamespace(name);
    await ipIn(ns, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `vp${i}`, 'netns', '1']);
    ip(['link', 'set', `vp${i}`, 'master', 'cbr0', 'up']);
    await ipIn(ns, ['link', 'set', 'eth0', 'up']);
    await ipIn(ns, ['addr', 'add', `${podIP}/24`, 'dev', 'eth0']);
    await ipIn(ns, ['route', 'add', 'default', 'via', '10.244.1.1']);
    await spawnIn(ns, process.execPath, [ECHO_SERVER, name, '8080', '5353']).waitForLine((l) => l === 'ready', 20_000);
    pods.push({ name, ip: podIP, ns });
  }
  const client = await createNamespace('client');
  await ipIn(client, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'vcl', 'netns', '1']);
  ip(['link', 'set', 'vcl', 'up']);
  ip(['addr', 'add', `${o.nodeIP}/24`, 'dev', 'vcl']);
  await ipIn(client, ['link', 'set', 'eth0', 'up']);
  await ipIn(client, ['addr', 'add', `${o.clientIP}/24`, 'dev', 'eth0']);
  await ipIn(client, ['route', 'add', 'default', 'via', o.nodeIP]);
  return { pods, client };
}

/**
 * IPv6 beside IPv4 on the same links (nodad: usable at once): fd00:10:244:1::1 on cbr0, `node6`
 * on the client link, `client6` in the client, pods fd00:10:244:1::(11+i) each with a second echo
 * server on IPv6 (TCP 8081 / UDP 5354; the IPv4 one has 8080 / 5353). Returns the pods' IPv6 addresses.
 */
export async function addUmlIpv6(node: UmlNode, node6: string, client6: string): Promise<string[]> {
  ip(['-6', 'addr', 'add', 'fd00:10:244:1::1/64', 'dev', 'cbr0', 'nodad']);
  ip(['-6', 'addr', 'add', `${node6}/64`, 'dev', 'vcl', 'nodad']);
  execFileSync('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  // Pod to service to another pod on the same bridge: the reply is bridged straight back, so it
  // must pass netfilter (and IPVS) to be un-NATed, as on a real node with a bridge CNI.
  execFileSync('sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']);
  await ipIn(node.client, ['-6', 'addr', 'add', `${client6}/64`, 'dev', 'eth0', 'nodad']);
  await ipIn(node.client, ['-6', 'route', 'add', 'default', 'via', node6]);
  const pod6: string[] = [];
  for (const [i, p] of node.pods.entries()) {
    const ip6 = `fd00:10:244:1::${11 + i}`;
    await ipIn(p.ns, ['-6', 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad']);
    await ipIn(p.ns, ['-6', 'route', 'add', 'default', 'via', 'fd00:10:244:1::1']);
    // As the CNI bridge plugin with hairpinMode: with br_netfilter a pod sent to itself needs it.
    ip(['link', 'set', `vp${i}`, 'type', 'bridge_slave', 'hairpin', 'on']);
    await spawnIn(p.ns, process.execPath, [ECHO_SERVER, p.name, '8081', '5354', 'ipv6']).waitForLine((l) => l === 'ready', 20_000);
    pod6.push(ip6);
  }
  return pod6;
}

/**
 * Requests from the node itself: the UML kernel's root namespace, where the driver runs (as the
 * kubelet and hostNetwork pods do), through the same client as topology.ts's tcpRequest.
 */
export function nodeRequest(proto: 'tcp' | 'udp', host: string, port: number, count = 1, timeoutMs = 3_000): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [NET_CLIENT, proto, host, String(port), String(count), String(timeoutMs)], { timeout: count * timeoutMs + 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${proto} client on the node failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Reply[]);
    });
  });
}
