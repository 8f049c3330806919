// A tiny TCP/UDP server for pods in system tests: every connection or datagram gets one line back,
// `<pod name> <source address it saw>`, so a test learns which endpoint answered and whether the
// source was masqueraded. Usage: node echo-server.ts NAME TCP_PORTS UDP_PORTS [ipv6] (comma lists,
// may be empty; `ipv6` adds IPv6-only sockets on :: beside the IPv4 ones, so an IPv4 client's
// source still reads as a.b.c.d rather than ::ffff:a.b.c.d). Prints `ready` once every socket listens.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const [name = 'unnamed', tcpList = '', udpList = '', families = ''] = process.argv.slice(2);
const ports = (list: string): number[] => list.split(',').filter((p) => p !== '').map(Number);
const hosts = families === 'ipv6' ? ['0.0.0.0', '::'] : ['0.0.0.0'];

const listening: Promise<void>[] = [];
for (const port of ports(tcpList)) {
  for (const host of hosts) {
    const server = createServer((sock) => {
      sock.on('error', (err) => console.error(`tcp ${port}: ${err.message}`));
      sock.end(`${name} ${sock.remoteAddress ?? '?'}\n`);
    });
    listening.push(new Promise((resolve) => server.listen({ port, host, ipv6Only: host === '::' }, resolve)));
  }
}
for (const port of ports(udpList)) {
  for (const host of hosts) {
    const sock = createSocket({ type: host === '::' ? 'udp6' : 'udp4', ipv6Only: host === '::' });
    sock.on('message', (_msg, rinfo) => {
      sock.send(`${name} ${rinfo.address}\n`, rinfo.port, rinfo.address);
    });
    listening.push(new Promise((resolve) => sock.bind(port, host, resolve)));
  }
}
await Promise.all(listening);
console.log('ready');
process.on('SIGTERM', () => process.exit(0));
