// One long-lived UDP flow from inside a namespace: a client keeping one socket (one source port)
// for its whole life, as a DNS resolver or a streaming client does (uml-ipvs-udp-client.ts, which
// runs in a network namespace as well as in the IPVS test kernel). Its conntrack entry keeps its
// DNAT for as long as datagrams keep coming, so what it is answered by after an endpoint change
// shows whether the proxy deleted the stale entry (kubernetes/kubernetes#19029).
import { fileURLToPath } from 'node:url';
import { spawnIn } from './netns.ts';

const UDP_CLIENT = fileURLToPath(new URL('./uml-ipvs-udp-client.ts', import.meta.url));

export interface UdpFlow {
  /** Send `count` datagrams one after another: the answering pods' names, 'timeout' or 'error:CODE'. */
  send(count?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** A client in `ns` bound to `srcPort`, connected to `host`:`port`, ready to send. */
export async function openUdpFlow(ns: string, host: string, port: number, srcPort: number): Promise<UdpFlow> {
  const p = spawnIn(ns, process.execPath, [UDP_CLIENT, host, String(port), String(srcPort)], { stdin: true });
  await p.waitForLine((l) => l === 'ready');
  let n = 0;
  return {
    async send(count = 1) {
      n += 1;
      const tag = `r${n}`;
      p.write(`${tag} ${count}\n`);
      const line = await p.waitForLine((l) => l.startsWith(`${tag} `));
      return JSON.parse(line.slice(tag.length + 1)) as string[];
    },
    stop: () => p.stop(),
  };
}
