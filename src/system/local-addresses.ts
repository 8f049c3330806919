// The node's local addresses (for nodePortAddresses and the health-check servers), from
// `ip -j addr show` (iproute2's JSON output) through the injected Exec.
import type { IPFamily } from '../model/types.ts';
import type { Exec } from './exec.ts';

export interface LocalAddress {
  readonly ip: string;
  readonly prefixLength: number;
  readonly family: IPFamily;
  readonly interface: string;
}

interface IpAddrInfo {
  readonly family?: string;
  readonly local?: string;
  readonly prefixlen?: number;
}
interface IpLink {
  readonly ifname?: string;
  readonly addr_info?: readonly IpAddrInfo[];
}

/** Parse `ip -j addr show` output (exported for the unit test). */
export function parseIpAddrJson(json: string): LocalAddress[] {
  const links = JSON.parse(json) as unknown;
  if (!Array.isArray(links)) throw new Error('ip -j addr: expected a JSON array');
  const out: LocalAddress[] = [];
  for (const link of links as IpLink[]) {
    for (const a of link.addr_info ?? []) {
      if ((a.family !== 'inet' && a.family !== 'inet6') || !a.local) continue;
      out.push({
        ip: a.local,
        prefixLength: a.prefixlen ?? (a.family === 'inet' ? 32 : 128),
        family: a.family === 'inet' ? 'IPv4' : 'IPv6',
        interface: link.ifname ?? '',
      });
    }
  }
  return out;
}

export async function localAddresses(exec: Exec, family?: IPFamily): Promise<LocalAddress[]> {
  const { stdout } = await exec('ip', ['-j', 'addr', 'show'], { timeoutMs: 10_000 });
  const all = parseIpAddrJson(stdout);
  return family ? all.filter((a) => a.family === family) : all;
}
