// UDP conntrack clean-up with the conntrack tool, as upstream's pkg/util/conntrack did before the
// netlink reconciler: a UDP flow keeps its DNAT for as long as packets keep coming, so a client
// whose endpoint went away would talk to nothing forever (kubernetes/kubernetes#19029). Only the
// flows of what changed are deleted, never the whole table (kubernetes/kubernetes#122740).
import { ExecError } from '../errors.ts';
import type { UdpFlow } from '../backends/common/conntrack-reconcile.ts';
import type { IPFamily, Protocol } from '../model/types.ts';
import type { Exec } from './exec.ts';

/** What to delete: flows to a service IP, optionally only those NATed to one endpoint IP. */
export type ConntrackFilter =
  | { readonly kind: 'service-ip'; readonly ip: string }
  | { readonly kind: 'service-ip-to-endpoint'; readonly ip: string; readonly endpointIP: string }
  | { readonly kind: 'nodeport'; readonly port: number }
  | { readonly kind: 'nodeport-to-endpoint'; readonly port: number; readonly endpointIP: string }
  /** The reconciler's exact deletions (common/conntrack-reconcile.ts): one destination, one reply source and port. */
  | { readonly kind: 'service-port-reply'; readonly ip: string; readonly port: number; readonly replySrc: string; readonly replySrcPort: number }
  | { readonly kind: 'nodeport-reply'; readonly port: number; readonly replySrc: string; readonly replySrcPort: number }

export interface Conntrack {
  /** Delete matching flows; returns how many were deleted (0 is success). */
  clear(family: IPFamily, protocol: Protocol, filter: ConntrackFilter): Promise<number>;
  /** Every UDP flow of the family (`conntrack -L`), for the reconciler; absent in fakes that have none. */
  listUdp?(family: IPFamily): Promise<UdpFlow[]>;
}

/**
 * The conntrack(8) arguments for one filter (exported for the unit test). "NATed to an endpoint"
 * is matched on the reply tuple's source (`--reply-src`), as upstream's netlink filters do
 * (pkg/proxy/conntrack/cleanup.go filterForNAT/filterForPortNAT), not with `--dst-nat`, which
 * also needs the entry's NAT status bit: an entry whose reply tuple was rewritten without netfilter
 * NAT (IPVS only rewrites the reply tuple; entries created with conntrack -I) was never matched
 * (seen in the IPVS test kernel, test/ipvs-conntrack.test.ts).
 */
export function conntrackArgs(family: IPFamily, protocol: Protocol, f: ConntrackFilter): string[] {
  const args = ['-D', '-f', family === 'IPv4' ? 'ipv4' : 'ipv6', '-p', protocol.toLowerCase()];
  switch (f.kind) {
    case 'service-ip':
      return [...args, '--orig-dst', f.ip];
    case 'service-ip-to-endpoint':
      return [...args, '--orig-dst', f.ip, '--reply-src', f.endpointIP];
    case 'nodeport':
      return [...args, '--orig-port-dst', String(f.port)];
    case 'nodeport-to-endpoint':
      return [...args, '--orig-port-dst', String(f.port), '--reply-src', f.endpointIP];
    case 'service-port-reply':
      return [...args, '--orig-dst', f.ip, '--orig-port-dst', String(f.port), '--reply-src', f.replySrc, '--reply-port-src', String(f.replySrcPort)];
    case 'nodeport-reply':
      return [...args, '--orig-port-dst', String(f.port), '--reply-src', f.replySrc, '--reply-port-src', String(f.replySrcPort)];
  }
}

/**
 * `conntrack -L` lines: the first src/dst/sport/dport are the original tuple, the second the
 * reply tuple (`udp 17 29 src=A dst=B sport=1 dport=2 [UNREPLIED] src=C dst=D sport=3 dport=4 …`).
 * Lines without both tuples are skipped. Pure (exported for the unit test).
 */
export function parseConntrackUdp(text: string): UdpFlow[] {
  const out: UdpFlow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('udp')) continue;
    const src: string[] = [];
    const sport: number[] = [];
    const dst: string[] = [];
    const dport: number[] = [];
    for (const field of line.split(/\s+/)) {
      const eq = field.indexOf('=');
      if (eq < 0) continue;
      const k = field.slice(0, eq);
      const v = field.slice(eq + 1);
      if (k === 'src') src.push(v);
      else if (k === 'dst') dst.push(v);
      else if (k === 'sport') sport.push(Number(v));
      else if (k === 'dport') dport.push(Number(v));
    }
    const [origDst, replySrc] = [dst[0], src[1]];
    const [origDstPort, replySrcPort] = [dport[0], sport[1]];
    if (origDst === undefined || replySrc === undefined || origDstPort === undefined || replySrcPort === undefined) continue;
    out.push({ origDst, origDstPort, replySrc, replySrcPort });
  }
  return out;
}

const DELETED = /(\d+) flow entries have been deleted/;

export function createConntrack(exec: Exec, binary = 'conntrack'): Conntrack {
  return {
    async clear(family, protocol, filter) {
      try {
        const { stderr } = await exec(binary, conntrackArgs(family, protocol, filter), { timeoutMs: 30_000 });
        return Number(DELETED.exec(stderr)?.[1] ?? 0);
      } catch (err) {
        // conntrack exits 1 when nothing matched; upstream treats "0 flow entries" as success too
        // (pkg/util/conntrack: NoConnectionToDelete).
        if (err instanceof ExecError && /0 flow entries have been deleted/.test(err.stderr)) return 0;
        throw err;
      }
    },
    async listUdp(family) {
      const args = ['-L', '-f', family === 'IPv4' ? 'ipv4' : 'ipv6', '-p', 'udp'];
      const { stdout } = await exec(binary, args, { timeoutMs: 30_000 });
      return parseConntrackUdp(stdout);
    },
  };
}
