// Synthetic clusters for partial-sync and performance checks.
import type { Endpoint, ProxyState, ServicePort } from '../../../model/types.ts';
import { ep, makeState, svcPort } from './fixtures.ts';

export function bigState(services: number, endpointsPer: number, over: Partial<ProxyState> = {}): ProxyState {
  const entries: Array<readonly [ServicePort, readonly Endpoint[]]> = [];
  for (let i = 0; i < services; i++) {
    const ip = `172.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const s = svcPort(`ns${i % 100}`, `svc${i}`, 'http', { clusterIP: ip, nodePort: i % 10 === 0 ? 30000 + (i % 2000) : 0 });
    const eps: Endpoint[] = [];
    for (let j = 0; j < endpointsPer; j++) eps.push(ep(`10.${(i >> 8) & 255}.${i & 255}.${j + 1}`, 8080));
    entries.push([s, eps]);
  }
  return makeState('IPv4', entries, over);
}
