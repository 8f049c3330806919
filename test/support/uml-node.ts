// Inside the IPVS test kernel: its root namespace plays the node. Pods are namespaces on bridge
// cbr0 (10.244.1.0/24, gateway 10.244.1.1) running echo servers (TCP 8080, UDP 5353); an
// off-node client is a namespace on its own veth, routed via the node address. Shared by the UML
// drivers (ipvs mode, migration); never used on the host.
import { execFileSync } from 'node:child_process';
import { createNamespace, ipIn, spawnIn } from './netns.ts';
import { ECHO_SERVER } from './topology.ts';

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
