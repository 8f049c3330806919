// A UDP client that keeps one socket (one source port) for its whole life, as a DNS resolver or a
// streaming client does, so a test sees what happens to an established UDP flow. Runs inside a
// namespace: `node uml-ipvs-udp-client.ts HOST PORT SRC_PORT`. Each stdin line `TAG COUNT` sends
// COUNT datagrams one after another (each waits up to 1 s for its reply) and prints one line
// `TAG <JSON array of the answering pod names, or "timeout">`. Prints `ready` once bound.
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createInterface } from 'node:readline';

const [host = '', port = '0', srcPort = '0'] = process.argv.slice(2);
const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
let waiting: ((pod: string) => void) | undefined;
sock.on('message', (msg) => {
  const w = waiting;
  waiting = undefined;
  w?.(msg.toString('utf8').trim().split(' ')[0] ?? '');
});
sock.on('error', (err: NodeJS.ErrnoException) => {
  // An ICMP error (ECONNREFUSED after connect) ends one request, not the client.
  const w = waiting;
  waiting = undefined;
  w?.(`error:${err.code ?? err.message}`);
});

function once(): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting = undefined;
      resolve('timeout');
    }, 1_000);
    waiting = (pod) => {
      clearTimeout(timer);
      resolve(pod);
    };
    sock.send('ping');
  });
}

await new Promise<void>((resolve) => sock.bind(Number(srcPort), () => resolve()));
await new Promise<void>((resolve) => sock.connect(Number(port), host, () => resolve()));
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [tag = '', count = '1'] = line.trim().split(' ');
  const out: string[] = [];
  for (let i = 0; i < Number(count); i++) out.push(await once());
  console.log(`${tag} ${JSON.stringify(out)}`);
}
sock.close();
