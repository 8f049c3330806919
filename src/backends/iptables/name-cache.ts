// sha256 per chain name is a large share of a cold render at scale (10k services × 10
// endpoints = 110k hashes). Names are pure functions of (service port name, protocol
// [, endpoint]), so each service port's memo carries its names to the next render: an
// unchanged endpoint keeps its KUBE-SEP name without hashing, and a service port's cache is
// dropped with it. No global map is rebuilt per sync.
import type { Protocol, ServicePortName } from '../../model/types.ts';
import { endpointChainName, serviceChainNames, type ServiceChainNames } from './chain-names.ts';

/** One service port's chain names, endpoint keys (`IP:port`) sorted, as the memo keeps them. */
export interface PortNames {
  readonly protocol: Protocol;
  readonly service: ServiceChainNames;
  /** Sorted (`<`) endpoint strings and, at the same index, their KUBE-SEP chain. */
  readonly epKeys: readonly string[];
  readonly epChains: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

export class PortNameCache {
  readonly #name: ServicePortName;
  readonly #protocol: Protocol;
  readonly #prev: PortNames | undefined;
  readonly service: ServiceChainNames;
  readonly #keys: string[] = [];
  readonly #chains: string[] = [];

  /** `prev` is this service port's names from the last render, if any. */
  constructor(name: ServicePortName, protocol: Protocol, prev: PortNames | undefined) {
    this.#name = name;
    this.#protocol = protocol;
    this.#prev = prev !== undefined && prev.protocol === protocol ? prev : undefined;
    this.service = this.#prev?.service ?? serviceChainNames(name, protocol);
  }

  /** The KUBE-SEP chain for endpoint `key`, from last time when it is known. */
  endpoint(key: string): string {
    const p = this.#prev;
    if (p !== undefined) {
      // Binary search: keys are sorted because endpoints are rendered in sorted order.
      let lo = 0;
      let hi = p.epKeys.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const k = p.epKeys[mid] as string;
        if (k === key) return p.epChains[mid] as string;
        if (k < key) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return endpointChainName(this.#name, this.#protocol, key);
  }

  /** Remember `chain` for `key`; call in ascending key order (each key once). */
  keep(key: string, chain: string): void {
    this.#keys.push(key);
    this.#chains.push(chain);
  }

  done(): PortNames {
    const n = this.#keys.length === 0;
    return { protocol: this.#protocol, service: this.service, epKeys: n ? NONE : this.#keys, epChains: n ? NONE : this.#chains };
  }
}
