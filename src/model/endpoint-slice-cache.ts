// EndpointSlices merged into per-service-port endpoint lists, as upstream
// pkg/proxy/endpointslicecache.go: slices are grouped by their kubernetes.io/service-name label,
// each family only sees slices of its addressType (FQDN slices are ignored), an IP seen in
// several slices is kept once (preferring a non-terminating copy), and lists are sorted by
// `ip:port`. Invalid ports and endpoints are dropped one by one with an ObjectError.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { ObjectError } from '../errors.ts';
import { compareEndpoints, endpointString } from './endpoint.ts';
import { parseIP } from './ip.ts';
import { servicePortName } from './service-parse.ts';
import type { Endpoint, IPFamily, NamespacedName, Protocol, ServicePortName } from './types.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Set by the EndpointSlice controller; upstream measures network programming latency from it. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export interface SlicePort {
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
}

export interface ParsedSlice {
  /** `ns/sliceName`. */
  readonly key: string;
  /** `ns/serviceName` from the service-name label. */
  readonly service: NamespacedName;
  /** undefined for FQDN slices, which kube-proxy ignores. */
  readonly family: IPFamily | undefined;
  readonly ports: readonly SlicePort[];
  /**
   * Per entry of `ports`, the slice's endpoints with that port. The merged per-service-port lists
   * hold these same objects, so an endpoint is in memory once per port, not once more for its
   * slice (that copy was ~18 MiB at 10k Services × 10 endpoints).
   */
  readonly endpoints: readonly (readonly Endpoint[])[];
  /** The trigger-time annotation in ms since the epoch, when present and valid. */
  readonly triggerTime: number | undefined;
}

export interface ParsedSliceResult {
  /** undefined when the slice as a whole is unusable (its errors say why). */
  readonly slice: ParsedSlice | undefined;
  readonly errors: readonly ObjectError[];
}

const PROTOCOLS: ReadonlySet<string> = new Set<Protocol>(['TCP', 'UDP', 'SCTP']);

/**
 * `intern` returns a shared copy of a node or zone name (model/interner.ts): every endpoint names
 * them, and a cluster has few.
 */
export function parseEndpointSlice(es: V1EndpointSlice, nodeName: string, intern: (s: string) => string = (s) => s): ParsedSliceResult {
  const namespace = es.metadata?.namespace ?? '';
  const name = es.metadata?.name ?? '';
  const key = `${namespace}/${name}`;
  const errors: ObjectError[] = [];
  const fail = (reason: string) => errors.push(new ObjectError(`EndpointSlice ${key}`, reason));
  const serviceName = es.metadata?.labels?.[SERVICE_NAME_LABEL] ?? '';
  if (name === '' || namespace === '') {
    fail('metadata.name and metadata.namespace are required');
    return { slice: undefined, errors };
  }
  if (serviceName === '') {
    fail(`label ${SERVICE_NAME_LABEL} is missing`);
    return { slice: undefined, errors };
  }
  let family: IPFamily | undefined;
  if (es.addressType === 'IPv4' || es.addressType === 'IPv6') family = es.addressType;
  else if (es.addressType !== 'FQDN') {
    fail(`unsupported addressType ${JSON.stringify(es.addressType)}`);
    return { slice: undefined, errors };
  }

  const ports: SlicePort[] = [];
  (es.ports ?? []).forEach((p, i) => {
    const where = `ports[${i}]${p.name ? ` (${p.name})` : ''}`;
    const protocol = p.protocol ?? 'TCP';
    // Upstream skips a nil or zero port ("TODO: handle nil ports to mean all").
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      return fail(`${where}: invalid port ${JSON.stringify(p.port ?? null)}`);
    }
    if (!PROTOCOLS.has(protocol)) return fail(`${where}: unsupported protocol ${JSON.stringify(protocol)}`);
    ports.push({ name: p.name ?? '', protocol: protocol as Protocol, port: p.port });
  });

  const endpoints: Endpoint[][] = ports.map(() => []);
  if (family !== undefined) {
    (es.endpoints ?? []).forEach((ep, i) => {
      // Upstream uses only the first address (the API allows exactly one for IP slices).
      const raw = ep.addresses?.[0];
      if (raw === undefined) return fail(`endpoints[${i}]: no addresses`);
      const parsed = parseIP(raw);
      if (parsed === undefined) return fail(`endpoints[${i}]: invalid IP ${JSON.stringify(raw)}`);
      if (parsed.family !== family) return fail(`endpoints[${i}]: ${parsed.family} address ${raw} in an ${family} slice`);
      const ready = ep.conditions?.ready ?? true;
      // The API says a nil serving defers to ready (EndpointConditions docs); upstream
      // kube-proxy treats nil as true, which only differs for not-ready endpoints.
      const serving = ep.conditions?.serving ?? ready;
      const terminating = ep.conditions?.terminating ?? false;
      const isLocal = nodeName !== '' && ep.nodeName === nodeName;
      const zones = ep.hints?.forZones?.map((z) => z.name) ?? [];
      const nodes = ep.hints?.forNodes?.map((n) => n.name) ?? [];
      const zoneHints = zones.length > 0 ? zones : undefined;
      const nodeHints = nodes.length > 0 ? nodes : undefined;
      const epNode = intern(ep.nodeName ?? '');
      const zone = intern(ep.zone ?? '');
      ports.forEach((p, k) => {
        // One literal with every field: V8 keeps its properties in the object (a spread copy
        // got a separate property array, ~90 bytes more per endpoint).
        endpoints[k]?.push({
          ip: parsed.ip,
          port: p.port,
          ready,
          serving,
          terminating,
          isLocal,
          nodeName: epNode,
          zone,
          zoneHints,
          nodeHints,
        });
      });
    });
  }
  const rawTrigger = es.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  const trigger = rawTrigger === undefined ? Number.NaN : Date.parse(rawTrigger);
  return {
    slice: { key, service: `${namespace}/${serviceName}`, family, ports, endpoints, triggerTime: Number.isNaN(trigger) ? undefined : trigger },
    errors,
  };
}

/**
 * Merge one service's slices of one family into endpoint lists per ServicePortName.
 * Slices are visited in name order so the result does not depend on arrival order.
 */
export function mergeSlices(service: NamespacedName, slices: Iterable<ParsedSlice>, family: IPFamily): Map<ServicePortName, Endpoint[]> {
  const [namespace = '', name = ''] = splitKey(service);
  const sorted = [...slices].filter((s) => s.family === family).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const byPort = new Map<ServicePortName, Map<string, Endpoint>>();
  for (const slice of sorted) {
    slice.ports.forEach((port, k) => {
      const spn = servicePortName(namespace, name, port.name);
      let set = byPort.get(spn);
      if (set === undefined) byPort.set(spn, (set = new Map()));
      for (const ep of slice.endpoints[k] ?? []) {
        const id = endpointString(ep);
        // An IP may briefly sit in two slices, or be reused by a new pod while the old one
        // terminates: prefer the non-terminating copy (upstream addEndpoints).
        if (!set.has(id) || !ep.terminating) set.set(id, ep);
      }
    });
  }
  const out = new Map<ServicePortName, Endpoint[]>();
  for (const [spn, set] of byPort) {
    if (set.size > 0) out.set(spn, [...set.values()].sort(compareEndpoints));
  }
  return out;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/**
 * The slices currently held, grouped by service, so a change re-merges only its service. A
 * service's slices are a small array, not a Map: most services have one slice, and 10k one-entry
 * Maps cost ~3 MiB more than arrays.
 */
export class EndpointSliceCache {
  readonly #byService = new Map<NamespacedName, ParsedSlice[]>();
  readonly #serviceOf = new Map<string, NamespacedName>();

  /** Store a slice; returns the services whose endpoints may have changed. */
  set(slice: ParsedSlice): NamespacedName[] {
    const affected = this.delete(slice.key);
    const group = this.#byService.get(slice.service);
    if (group === undefined) this.#byService.set(slice.service, [slice]);
    else group.push(slice);
    this.#serviceOf.set(slice.key, slice.service);
    if (!affected.includes(slice.service)) affected.push(slice.service);
    return affected;
  }

  /** Forget a slice; returns the service it belonged to (or nothing). */
  delete(sliceKey: string): NamespacedName[] {
    const service = this.#serviceOf.get(sliceKey);
    if (service === undefined) return [];
    this.#serviceOf.delete(sliceKey);
    const group = this.#byService.get(service) ?? [];
    const i = group.findIndex((s) => s.key === sliceKey);
    if (i >= 0) group.splice(i, 1);
    if (group.length === 0) this.#byService.delete(service);
    return [service];
  }

  get(sliceKey: string): ParsedSlice | undefined {
    const service = this.#serviceOf.get(sliceKey);
    return service === undefined ? undefined : this.#byService.get(service)?.find((s) => s.key === sliceKey);
  }

  endpoints(service: NamespacedName, family: IPFamily): Map<ServicePortName, Endpoint[]> {
    return mergeSlices(service, this.#byService.get(service) ?? [], family);
  }
}
