// Parsing of `trace` arguments at the edge: DEST is IP:PORT[/tcp|udp|sctp] or [IPv6]:PORT[/proto],
// --from is pod, node, external or an IP address. Errors are one line naming the argument. Pure.
import { TraceInputError } from '../errors.ts';
import { parseIP } from '../model/ip.ts';
import type { TraceDest, TraceFrom, TraceProtocol } from './trace-types.ts';

const PROTOCOLS: readonly TraceProtocol[] = ['tcp', 'udp', 'sctp'];

export function parseDest(text: string): TraceDest {
  const bad = (why: string): never => {
    throw new TraceInputError(`DEST ${JSON.stringify(text)}: ${why} (expected IP:PORT[/tcp|udp|sctp] or [IPv6]:PORT[/proto])`);
  };
  const slash = text.lastIndexOf('/');
  const proto = (slash >= 0 ? text.slice(slash + 1).toLowerCase() : 'tcp') as TraceProtocol;
  if (!PROTOCOLS.includes(proto)) bad(`unknown protocol ${JSON.stringify(text.slice(slash + 1))}`);
  const hostPort = slash >= 0 ? text.slice(0, slash) : text;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(hostPort) ?? /^([^:[\]]+):(\d+)$/.exec(hostPort);
  if (m === null) return bad(hostPort.includes(':') && !hostPort.includes('[') && hostPort.split(':').length > 2 ? 'an IPv6 address needs brackets' : 'no port');
  const ip = parseIP(m[1] as string) ?? bad(`${JSON.stringify(m[1])} is not an IP address`);
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) bad(`port ${m[2]} is out of range 1-65535`);
  return { ip: ip.ip, family: ip.family, port, protocol: proto };
}

export function parseFrom(text: string | undefined, dest: TraceDest): TraceFrom {
  if (text === undefined || text === 'pod') return { kind: 'pod' };
  if (text === 'node' || text === 'external') return { kind: text };
  const ip = parseIP(text);
  if (ip === undefined) throw new TraceInputError(`--from ${JSON.stringify(text)}: expected pod, node, external or an IP address`);
  if (ip.family !== dest.family) throw new TraceInputError(`--from ${ip.ip}: an ${ip.family} source cannot reach the ${dest.family} DEST ${dest.ip}`);
  return { kind: 'ip', ip: ip.ip };
}
