// What one render leaves for the next (KEP-3453 partial syncs), per service port: its inputs
// (by identity: the model hands over the same objects for unchanged ports), its sorted
// endpoints, its chain-name hashes (name-cache.ts), which of its own chains it has, its lines in
// the top-level chains and its counts. A partial render reuses this for every unchanged port
// without rendering it, so it costs O(changed ports) plus an O(ports) scan; the memo never holds
// per-service rule text or the previous payload. It stays in memory between syncs for every
// port (10k services × 10 endpoints: ~27 MiB before it was made compact, see name-cache.ts).
import type { Endpoint, IPFamily, ServicePort, ServicePortName } from '../../model/types.ts';
import { joinHostPort } from './chain-names.ts';
import { sepChain, serviceNames, type PortNames } from './name-cache.ts';
import { OWN_EXT, OWN_FW, OWN_SVC, OWN_SVL, TOP_KEYS, type ServiceTop } from './render-service.ts';

export interface ServiceMemo {
  readonly svc: ServicePort;
  /** The endpoint list as handed over (undefined: none), compared by identity. */
  readonly raw: readonly Endpoint[] | undefined;
  /** `raw` sorted by `IP:port` and de-duplicated (usually `raw` itself). */
  readonly ordered: readonly Endpoint[];
  readonly names: PortNames;
  /** Which of the port's SVC/SVL/EXT/FW chains it has: OWN_* bits. */
  readonly own: number;
  readonly chainRules: number;
  readonly top: ServiceTop;
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

/** What the next render needs from this one; keep it only if the payload was applied. */
export interface RenderMemo {
  readonly family: IPFamily;
  /** Fingerprint of the options; a different one forces a full render. */
  readonly optionsKey: string;
  /** Changes every SEP chain's comments, so a flip forces a full render. */
  readonly largeClusterMode: boolean;
  readonly services: ReadonlyMap<ServicePortName, ServiceMemo>;
  /** Service port names, sorted: the order of the top-level chains' lines. */
  readonly order: readonly ServicePortName[];
}

/** The port's own nat chains, in declaration order: EXT, FW, SVC, SVL, then every SEP. */
export function chainsOf(m: Pick<ServiceMemo, 'own' | 'names'>): string[] {
  const out: string[] = [];
  if (m.own !== 0) {
    const n = serviceNames(m.names.serviceHash);
    if ((m.own & OWN_EXT) !== 0) out.push(n.ext);
    if ((m.own & OWN_FW) !== 0) out.push(n.fw);
    if ((m.own & OWN_SVC) !== 0) out.push(n.svc);
    if ((m.own & OWN_SVL) !== 0) out.push(n.svl);
  }
  for (let j = 0; j < m.names.eps.length; j++) out.push(sepChain(m.names, j));
  return out;
}

/** How many chains chainsOf(m) lists. */
export function chainCount(m: Pick<ServiceMemo, 'own' | 'names'>): number {
  let bits = 0;
  for (let o = m.own; o !== 0; o >>= 1) bits += o & 1;
  return bits + m.names.eps.length;
}

const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);
const NO_STRINGS: readonly string[] = Object.freeze([]);

/** `IP:port` of each endpoint. */
export function endpointKeys(eps: readonly Endpoint[]): string[] {
  return eps.map((e) => joinHostPort(e.ip, e.port));
}

/** Sorted by `IP:port` and de-duplicated, as upstream's EndpointSlice cache hands them over. */
export function orderedEndpoints(eps: readonly Endpoint[] | undefined): { ordered: readonly Endpoint[]; strs: readonly string[] } {
  if (eps === undefined || eps.length === 0) return { ordered: NO_ENDPOINTS, strs: NO_STRINGS };
  const strs: string[] = new Array<string>(eps.length);
  let ok = true;
  for (let i = 0; i < eps.length; i++) {
    const e = eps[i] as Endpoint;
    const s = joinHostPort(e.ip, e.port);
    strs[i] = s;
    if (i > 0 && s <= (strs[i - 1] as string)) ok = false;
  }
  if (ok) return { ordered: eps, strs };
  const byKey = new Map<string, Endpoint>();
  for (let i = 0; i < eps.length; i++) if (!byKey.has(strs[i] as string)) byKey.set(strs[i] as string, eps[i] as Endpoint);
  const keys = [...byKey.keys()].sort();
  return { ordered: keys.map((k) => byKey.get(k) as Endpoint), strs: keys };
}

export function sameLines(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export type TopKey = (typeof TOP_KEYS)[number];
export type DirtyTop = Record<TopKey, boolean>;

export function noDirtyTop(): DirtyTop {
  return { natServices: false, natNodePorts: false, filterServices: false, filterExternal: false, filterNodePorts: false, filterFirewall: false };
}

/** Mark the top-level chains whose lines differ between `before` and `after`. */
export function markDirty(dirty: DirtyTop, before: ServiceTop, after: ServiceTop): void {
  for (const k of TOP_KEYS) if (!dirty[k] && !sameLines(before[k], after[k])) dirty[k] = true;
}
