// UDP conntrack clean-up with the conntrack tool, as upstream's pkg/util/conntrack did before the
// netlink reconciler: a UDP flow keeps its DNAT for as long as packets keep coming, so a client
// whose endpoint went away would talk to nothing forever (kubernetes/kubernetes#19029). Only the
// flows of what changed are deleted, never the whole table (kubernetes/kubernetes#122740).
import { ExecError } from '../errors.ts';
import type { IPFamily, Protocol } from '../model/types.ts';
import type { Exec } from './exec.ts';

/** What to delete: flows to a service IP, optionally only those NATed to one endpoint IP. */
export type ConntrackFilter =
  | { readonly kind: 'service-ip'; readonly ip: string }
  | { readonly kind: 'service-ip-to-endpoint'; readonly ip: string; readonly endpointIP: string }
  | { readonly kind: 'nodeport'; readonly port: number }
  | { readonly kind: 'nodeport-to-endpoint'; readonly port: number; readonly endpointIP: string };

export interface Conntrack {
  /** Delete matching flows; returns how many were deleted (0 is success). */
  clear(family: IPFamily, protocol: Protocol, filter: ConntrackFilter): Promise<number>;
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
  }
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
  };
}
