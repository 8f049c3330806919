// Two namespaces of modes-side-by-side.bench.ts, neither linked to the root namespace:
// - `node` (192.0.2.1 on a veth): holds the proxier's rules and runs the probe client, so a
//   connection to a ClusterIP is DNAT-ed in the nat OUTPUT path, as a process on a node is;
// - `pods` (192.0.2.2): every endpoint address the probes can reach as a /32 on its loopback,
//   and one echo server listening on the endpoint ports of every address.
// The node routes 10.96.0.0/16 (Services, for the route lookup before DNAT) and 10.244.0.0/16
// (pods) to the pods namespace.
import { fileURLToPath } from 'node:url';
import { createNamespace, deleteNamespace, ipIn, spawnIn, vethBetween, type NsProcess } from '../test/support/netns.ts';
import { parseProbeOutput, type ProbeResult } from './connect-latency.ts';

const ECHO_SERVER = fileURLToPath(new URL('../test/support/echo-server.ts', import.meta.url));
const CONNECT_CLIENT = fileURLToPath(new URL('./connect-client.ts', import.meta.url));

export interface ProbeTarget {
  readonly label: string;
  readonly ip: string;
  readonly port: number;
}

export interface ConnectTopology {
  readonly node: string;
  readonly pods: string;
  /** COUNT rounds of one new connection to each target, from the node namespace (one client process kept). */
  probe(count: number, targets: readonly ProbeTarget[]): Promise<ProbeResult>;
  remove(): Promise<void>;
}

export async function connectTopology(tag: string, podIPs: readonly string[], ports: readonly number[]): Promise<ConnectTopology> {
  const node = await createNamespace(`${tag}-node`);
  const pods = await createNamespace(`${tag}-pods`);
  let server: NsProcess | undefined;
  let client: NsProcess | undefined;
  try {
    await vethBetween(node, 'eth0', pods, 'eth0');
    await ipIn(node, ['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await ipIn(pods, ['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    for (const cidr of ['10.96.0.0/16', '10.244.0.0/16']) await ipIn(node, ['route', 'add', cidr, 'via', '192.0.2.2']);
    for (const ip of new Set(podIPs)) await ipIn(pods, ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
    server = spawnIn(pods, process.execPath, [ECHO_SERVER, 'pods', [...new Set(ports)].join(','), '']);
    await server.waitForLine((l) => l.trim() === 'ready');
    client = spawnIn(node, process.execPath, [CONNECT_CLIENT], { stdin: true });
  } catch (err) {
    await client?.stop();
    await server?.stop();
    await deleteNamespace(node);
    await deleteNamespace(pods);
    throw err;
  }
  const srv = server;
  const cli = client;
  let id = 0;
  return {
    node,
    pods,
    async probe(count, targets) {
      id += 1;
      const prefix = `{"id":${id},`;
      cli.write(`${JSON.stringify({ id, count, targets })}\n`);
      // A round is a few connections of ~0.1 ms; 2 s each is the client's own timeout.
      return parseProbeOutput(await cli.waitForLine((l) => l.startsWith(prefix), 60_000 + count * targets.length * 2_000));
    },
    async remove() {
      await cli.stop();
      await srv.stop();
      await deleteNamespace(node);
      await deleteNamespace(pods);
    },
  };
}

