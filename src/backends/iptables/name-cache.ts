// sha256 per chain name is the renderer's main cost at scale (10k services × 10 endpoints =
// 110k hashes per full sync). Names are pure functions of their inputs, so the previous
// render's names are carried in the memo and reused; only names used this time are kept.
import type { Protocol, ServicePortName } from '../../model/types.ts';
import { endpointChainName, serviceChainNames, type ServiceChainNames } from './chain-names.ts';

export class NameCache {
  readonly #prevSvc: ReadonlyMap<string, ServiceChainNames>;
  readonly #prevSep: ReadonlyMap<string, string>;
  readonly svc = new Map<string, ServiceChainNames>();
  readonly sep = new Map<string, string>();

  constructor(previous?: NameCache) {
    this.#prevSvc = previous?.svc ?? new Map();
    this.#prevSep = previous?.sep ?? new Map();
  }

  service(name: ServicePortName, protocol: Protocol): ServiceChainNames {
    const key = name + '\0' + protocol;
    let v = this.svc.get(key);
    if (v !== undefined) return v;
    v = this.#prevSvc.get(key) ?? serviceChainNames(name, protocol);
    this.svc.set(key, v);
    return v;
  }

  endpoint(name: ServicePortName, protocol: Protocol, endpoint: string): string {
    const key = name + '\0' + protocol + '\0' + endpoint;
    let v = this.sep.get(key);
    if (v !== undefined) return v;
    v = this.#prevSep.get(key) ?? endpointChainName(name, protocol, endpoint);
    this.sep.set(key, v);
    return v;
  }
}
