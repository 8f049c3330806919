// What `kube-proxy-ts trace` asks and answers, the same for every mode: a packet (destination,
// where it comes from) and where the node's rules send it. Each mode's tracer (the `trace`
// capability of its registry entry) turns its own state into a TraceReport; the formatter and the
// command know nothing of modes. Pure types.
import type { IPFamily } from '../model/types.ts';

export type TraceProtocol = 'tcp' | 'udp' | 'sctp';

export interface TraceDest {
  readonly ip: string;
  readonly port: number;
  readonly protocol: TraceProtocol;
  readonly family: IPFamily;
}

/** `--from`: a pod (default), the node itself, an off-node client, or a given source address. */
export type TraceFrom =
  | { readonly kind: 'pod' }
  | { readonly kind: 'node' }
  | { readonly kind: 'external' }
  | { readonly kind: 'ip'; readonly ip: string };

export interface TraceQuery {
  readonly dest: TraceDest;
  readonly from: TraceFrom;
  /** This node's addresses (live: read from the kernel; a saved dump: --node-ip, possibly none). */
  readonly nodeAddresses: readonly string[];
  /** The state is a saved dump from another node (so "is this address local" is partly guessed). */
  readonly saved: boolean;
}

export type TraceVerdict = 'DNAT' | 'REJECT' | 'DROP' | 'NO_SERVICE';

export interface TraceEndpoint {
  /** `ip:port` (`[ip]:port` for IPv6). */
  readonly address: string;
  /** Chance of a new connection going there; null when a scheduler decides (IPVS). */
  readonly probability: number | null;
  /** Whether the source is masqueraded on the way to this endpoint, and why. */
  readonly masquerade: string | null;
  /** The chains or objects the packet went through to get there. */
  readonly via: readonly string[];
}

export interface TraceReport {
  readonly mode: string;
  /** The packet as traced (the source address the tracer chose for --from pod/node/external). */
  readonly packet: { readonly src: string; readonly dst: string; readonly port: number; readonly protocol: TraceProtocol; readonly from: string };
  /** The Service port matched (`ns/name:port`), and how (cluster IP, node port, ...). */
  readonly service: { readonly name: string; readonly matchedAs: string } | null;
  readonly verdict: TraceVerdict;
  /** One line: why this verdict (the rule's comment, "no endpoints", "source range"...). */
  readonly reason: string;
  readonly endpoints: readonly TraceEndpoint[];
  /** Scheduler (IPVS) or "random" (iptables statistic), or null. */
  readonly balancing: string | null;
  readonly affinity: { readonly kind: 'ClientIP'; readonly timeoutSeconds: number } | null;
  /** Things the operator should know: rules not evaluated, guesses made about a saved dump. */
  readonly notes: readonly string[];
}

/** Exit status of `trace`: 0 an endpoint is reached, 1 rejected, dropped or no Service. */
export function traceExitCode(r: TraceReport): 0 | 1 {
  return r.verdict === 'DNAT' ? 0 : 1;
}
