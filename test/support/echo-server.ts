// A tiny TCP/UDP server for pods in system tests: every connection or datagram gets one line back,
// `<pod name> <source address it saw>`, so a test learns which endpoint answered and whether the
// source was masqueraded. Usage: node echo-server.ts NAME TCP_PORTS UDP_PORTS (comma lists, may be
// empty). Prints `ready` once every socket listens.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const [name = 'unnamed', tcpList = '', udpList = ''] = process.argv.slice(2);
const ports = (list: string): number[] => list.split(',').filter((p) => p !== '').map(Number);

const listening: Promise<void>[] = [];
for (const port of ports(tcpList)) {
  const server = createServer((sock) => {
    sock.on('error', (err) => console.error(`tcp ${port}: ${err.message}`));
    sock.end(`${name} ${sock.remoteAddress ?? '?'}\n`);
  });
  listening.push(new Promise((resolve) => server.listen({ port, host: '0.0.0.0' }, resolve)));
}
for (const port of ports(udpList)) {
  const sock = createSocket('udp4');
  sock.on('message', (_msg, rinfo) => {
    sock.send(`${name} ${rinfo.address}\n`, rinfo.port, rinfo.address);
  });
  listening.push(new Promise((resolve) => sock.bind(port, '0.0.0.0', resolve)));
}
await Promise.all(listening);
console.log('ready');
process.on('SIGTERM', () => process.exit(0));
