// V1Service → ServicePort per IP family, following upstream pkg/proxy/serviceport.go
// (newBaseServiceInfo), servicechangetracker.go (serviceToServiceMap) and
// pkg/proxy/util (ShouldSkipService, GetClusterIPByFamily, MapIPsByIPFamily). Bad parts are
// dropped one by one with an ObjectError naming the Service; the rest of the Service survives.
import type { V1Service } from '@kubernetes/client-node';
import { ObjectError } from '../errors.ts';
import { parseCIDR, parseIP } from './ip.ts';
import type { IPFamily, Protocol, ServicePort, SessionAffinity } from './types.ts';

export interface ParsedService {
  /** `ns/name`. */
  readonly key: string;
  /** Service ports per requested family (empty when the Service is skipped or has no IP of it). */
  readonly ports: ReadonlyMap<IPFamily, readonly ServicePort[]>;
  readonly errors: readonly ObjectError[];
}

/** Upstream default for sessionAffinityConfig.clientIP.timeoutSeconds (pkg/apis/core/v1/defaults.go). */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800;
/** API validation's bound for the ClientIP timeout (MaxClientIPServiceAffinitySeconds). */
const MAX_CLIENT_IP_TIMEOUT_SECONDS = 86400;
const PROTOCOLS: ReadonlySet<string> = new Set<Protocol>(['TCP', 'UDP', 'SCTP']);

export function servicePortName(namespace: string, name: string, portName: string): string {
  return portName === '' ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`;
}

const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;

/** Parse one Service for the given families. Never throws. */
export function parseService(svc: V1Service, families: readonly IPFamily[]): ParsedService {
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const key = `${namespace}/${name}`;
  const errors: ObjectError[] = [];
  const fail = (reason: string) => errors.push(new ObjectError(`Service ${key}`, reason));
  const ports = new Map<IPFamily, ServicePort[]>(families.map((f) => [f, []]));
  const spec = svc.spec;

  if (name === '' || spec === undefined) {
    fail(name === '' ? 'metadata.name is missing' : 'spec is missing');
    return { key, ports, errors };
  }
  // Headless and ExternalName Services are not proxied (upstream ShouldSkipService).
  if (spec.clusterIP === undefined || spec.clusterIP === '' || spec.clusterIP === 'None') return { key, ports, errors };
  if (spec.type === 'ExternalName') return { key, ports, errors };

  const clusterIPs = new Map<IPFamily, string>();
  const candidates = spec.clusterIPs !== undefined && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP];
  for (const raw of candidates) {
    const parsed = parseIP(raw);
    if (parsed === undefined) fail(`spec.clusterIPs: invalid IP ${JSON.stringify(raw)}`);
    else if (!clusterIPs.has(parsed.family)) clusterIPs.set(parsed.family, parsed.ip);
  }

  const externalIPs = byFamily(spec.externalIPs ?? [], ipValue, 'spec.externalIPs: invalid IP', fail);
  const lbVIPs: Array<{ ip: string; family: IPFamily }> = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    // Only VIP-style load balancers get rules; ipMode Proxy sends traffic to the node itself
    // (upstream proxyutil.IsVIPMode: unset counts as VIP).
    if (ing.ip === undefined || ing.ip === '' || (ing.ipMode !== undefined && ing.ipMode !== 'VIP')) continue;
    const parsed = parseIP(ing.ip);
    if (parsed === undefined) fail(`status.loadBalancer.ingress: invalid IP ${JSON.stringify(ing.ip)}`);
    else lbVIPs.push(parsed);
  }
  // Validation mistakenly allows whitespace padding (upstream newBaseServiceInfo trims).
  const sourceRanges = byFamily(spec.loadBalancerSourceRanges ?? [], cidrValue, 'spec.loadBalancerSourceRanges: invalid CIDR', fail);

  const sessionAffinity = parseAffinity(svc, fail);
  const type = spec.type ?? 'ClusterIP';
  // apiservice.ExternalPolicyLocal: only NodePort and LoadBalancer Services have an external policy.
  const externalPolicyLocal = (type === 'NodePort' || type === 'LoadBalancer') && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  let healthCheckNodePort = 0;
  if (type === 'LoadBalancer' && externalPolicyLocal) {
    if (isPort(spec.healthCheckNodePort)) healthCheckNodePort = spec.healthCheckNodePort;
    else fail('spec.healthCheckNodePort: missing or invalid for a LoadBalancer with externalTrafficPolicy Local');
  }
  const annotations = svc.metadata?.annotations ?? {};
  const topologyMode = annotations['service.kubernetes.io/topology-mode'] ?? annotations['service.kubernetes.io/topology-aware-hints'] ?? '';
  const trafficDistribution = spec.trafficDistribution ?? '';

  const seen = new Set<string>();
  (spec.ports ?? []).forEach((p, i) => {
    const portName = p.name ?? '';
    const where = `spec.ports[${i}]${portName === '' ? '' : ` (${portName})`}`;
    const protocol = p.protocol ?? 'TCP';
    if (!PROTOCOLS.has(protocol)) return fail(`${where}: unsupported protocol ${JSON.stringify(protocol)}`);
    if (!isPort(p.port)) return fail(`${where}: invalid port ${JSON.stringify(p.port)}`);
    const nodePort = p.nodePort ?? 0;
    if (nodePort !== 0 && !isPort(nodePort)) return fail(`${where}: invalid nodePort ${JSON.stringify(nodePort)}`);
    if (seen.has(portName)) return fail(`${where}: duplicate port name ${JSON.stringify(portName)}`);
    seen.add(portName);
    for (const family of families) {
      const clusterIP = clusterIPs.get(family);
      if (clusterIP === undefined) continue;
      ports.get(family)?.push({
        name: servicePortName(namespace, name, portName),
        namespace,
        serviceName: name,
        portName,
        protocol: protocol as Protocol,
        family,
        clusterIP,
        port: p.port,
        nodePort,
        externalIPs: externalIPs.get(family) ?? [],
        loadBalancerVIPs: lbVIPs.filter((v) => v.family === family).map((v) => v.ip),
        loadBalancerSourceRanges: sourceRanges.get(family) ?? [],
        sessionAffinity,
        externalPolicyLocal,
        internalPolicyLocal,
        healthCheckNodePort,
        trafficDistribution,
        topologyMode,
      });
    }
  });
  return { key, ports, errors };
}

interface FamilyValue {
  readonly value: string;
  readonly family: IPFamily;
}
const ipValue = (raw: string): FamilyValue | undefined => {
  const p = parseIP(raw.trim());
  return p && { value: p.ip, family: p.family };
};
const cidrValue = (raw: string): FamilyValue | undefined => {
  const p = parseCIDR(raw.trim());
  return p && { value: p.cidr, family: p.family };
};

function byFamily(
  raws: readonly string[],
  parse: (raw: string) => FamilyValue | undefined,
  reason: string,
  fail: (reason: string) => void,
): Map<IPFamily, string[]> {
  const out = new Map<IPFamily, string[]>();
  for (const raw of raws) {
    const parsed = parse(raw);
    if (parsed === undefined) {
      fail(`${reason} ${JSON.stringify(raw)}`);
      continue;
    }
    const list = out.get(parsed.family) ?? [];
    if (!list.includes(parsed.value)) list.push(parsed.value);
    out.set(parsed.family, list);
  }
  return out;
}

function parseAffinity(svc: V1Service, fail: (reason: string) => void): SessionAffinity {
  if (svc.spec?.sessionAffinity !== 'ClientIP') return { type: 'None', timeoutSeconds: 0 };
  const t = svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t === undefined) return { type: 'ClientIP', timeoutSeconds: DEFAULT_CLIENT_IP_TIMEOUT_SECONDS };
  if (!Number.isInteger(t) || t < 1 || t > MAX_CLIENT_IP_TIMEOUT_SECONDS) {
    fail(`spec.sessionAffinityConfig.clientIP.timeoutSeconds: ${JSON.stringify(t)} is not in 1..${MAX_CLIENT_IP_TIMEOUT_SECONDS}; using ${DEFAULT_CLIENT_IP_TIMEOUT_SECONDS}`);
    return { type: 'ClientIP', timeoutSeconds: DEFAULT_CLIENT_IP_TIMEOUT_SECONDS };
  }
  return { type: 'ClientIP', timeoutSeconds: t };
}
