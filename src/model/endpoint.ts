// Endpoint identity and ordering, as upstream BaseEndpointInfo.String() (net.JoinHostPort):
// `ip:port`, IPv6 bracketed. Endpoint lists are kept sorted by it (upstream byEndpoint) so equal
// states compare equal and rendered rules are stable.
import type { Endpoint } from './types.ts';
import { joinHostPort } from './ip.ts';

export function endpointString(ep: Pick<Endpoint, 'ip' | 'port'>): string {
  return joinHostPort(ep.ip, ep.port);
}

export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const x = endpointString(a);
  const y = endpointString(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
