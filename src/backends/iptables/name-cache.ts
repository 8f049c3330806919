// sha256 per chain name is a large share of a cold render at scale (10k services × 10
// endpoints = 110k hashes). Names are pure functions of (service port name, protocol
// [, endpoint]), so each service port's memo carries its hashes to the next render: an
// unchanged endpoint keeps its KUBE-SEP name without hashing, and a service port's cache is
// dropped with it. No global map is rebuilt per sync.
//
// The memo lives between syncs for every service port, so it is kept compact: the 16-character
// hashes, not the chain names (a `KUBE-SEP-` + hash concatenation is a 32-byte cons cell over a
// 40-byte string, per name), all of a port's SEP hashes in one flat string, and the endpoints
// themselves (owned by the model anyway) instead of their `IP:port` strings. Names and keys are
// made again, briefly, when the port's chains are written.
import type { Endpoint, Protocol, ServicePortName } from '../../model/types.ts';
import {
  endpointChainName, EXT_PREFIX, FW_PREFIX, joinHostPort, SEP_PREFIX, servicePortHash, SVC_PREFIX, SVL_PREFIX,
  type ServiceChainNames,
} from './chain-names.ts';

const HASH = 16;

/** One service port's chain-name hashes, as the memo keeps them. */
export interface PortNames {
  readonly protocol: Protocol;
  /** The hash shared by the port's SVC/SVL/EXT/FW chains. */
  readonly serviceHash: string;
  /** The endpoints with a KUBE-SEP chain, ascending by `IP:port` (the plan's reachable endpoints). */
  readonly eps: readonly Endpoint[];
  /** Their KUBE-SEP hashes, HASH characters each, concatenated in the same order. */
  readonly sepHashes: string;
}

/** The port's SVC/SVL/EXT/FW chain names. */
export function serviceNames(hash: string): ServiceChainNames {
  return { svc: SVC_PREFIX + hash, svl: SVL_PREFIX + hash, ext: EXT_PREFIX + hash, fw: FW_PREFIX + hash };
}

/** The KUBE-SEP chain of `names.eps[j]`. */
export function sepChain(names: PortNames, j: number): string {
  return SEP_PREFIX + names.sepHashes.slice(j * HASH, (j + 1) * HASH);
}

export class PortNameCache {
  readonly #name: ServicePortName;
  readonly #protocol: Protocol;
  readonly #prev: PortNames | undefined;
  readonly #hash: string;
  readonly service: ServiceChainNames;
  readonly #hashes: string[] = [];

  /** `prev` is this service port's names from the last render, if any. */
  constructor(name: ServicePortName, protocol: Protocol, prev: PortNames | undefined) {
    this.#name = name;
    this.#protocol = protocol;
    this.#prev = prev !== undefined && prev.protocol === protocol ? prev : undefined;
    this.#hash = this.#prev?.serviceHash ?? servicePortHash(name, protocol);
    this.service = serviceNames(this.#hash);
  }

  /** The KUBE-SEP chain for endpoint `key` (`IP:port`), from last time when it is known. */
  endpoint(key: string): string {
    const p = this.#prev;
    if (p !== undefined) {
      // Binary search: last time's endpoints are sorted by key, as endpoints are rendered in order.
      let lo = 0;
      let hi = p.eps.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const e = p.eps[mid] as Endpoint;
        const k = joinHostPort(e.ip, e.port);
        if (k === key) return sepChain(p, mid);
        if (k < key) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return endpointChainName(this.#name, this.#protocol, key);
  }

  /** Remember the KUBE-SEP `chain` of the next reachable endpoint (call in ascending order). */
  keep(chain: string): void {
    this.#hashes.push(chain.slice(SEP_PREFIX.length));
  }

  /** `eps`: the reachable endpoints whose chains were kept, in the same order. */
  done(eps: readonly Endpoint[]): PortNames {
    if (eps.length !== this.#hashes.length) throw new Error(`name cache: ${eps.length} endpoints, ${this.#hashes.length} chains kept`);
    return { protocol: this.#protocol, serviceHash: this.#hash, eps, sepHashes: this.#hashes.join('') };
  }
}
