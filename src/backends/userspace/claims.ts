// Which node ports the userspace proxy must hold open while a service uses them, so that no
// other program on the node can bind them and then silently lose its traffic to our portal rules.
// Upstream v1.25 pkg/proxy/userspace/proxier.go: openNodePort claims the NodePort on every
// address (claimNodePort(nil, nodePort, ...)), and openOnePortal claims portal.ip:portal.port when
// the portal address (ClusterIP, externalIP, LB IP) is one of the node's own (utilproxy.IsLocalIP).
// A key is held by one service port at a time; a second owner is upstream's "Port conflict".
// Pure: io/node-port-claims.ts opens the sockets.
import type { IPFamily, ServicePort, ServicePortName } from '../../model/types.ts';
import type { ListenProtocol } from './plan.ts';
import { joinHostPort } from '../../model/ip.ts';

export interface PortClaim {
  /** '0.0.0.0' / '::' for a NodePort (every address), else the node address of a portal. */
  readonly ip: string;
  readonly port: number;
  readonly protocol: ListenProtocol;
  readonly owner: ServicePortName;
  /** Upstream portMapKey.String(): `ip:port/PROTO` (`[ip]:port/PROTO` for IPv6). */
  readonly key: string;
}

export interface ClaimConflict {
  readonly claim: PortClaim;
  readonly holder: ServicePortName;
}

export interface ClaimPlan {
  readonly claims: readonly PortClaim[];
  readonly conflicts: readonly ClaimConflict[];
}

export function unspecifiedAddress(family: IPFamily): string {
  return family === 'IPv6' ? '::' : '0.0.0.0';
}

export function claimKey(ip: string, port: number, protocol: ListenProtocol): string {
  return `${joinHostPort(ip, port)}/${protocol}`;
}

function makeClaim(ip: string, port: number, protocol: ListenProtocol, owner: ServicePortName): PortClaim {
  return { ip, port, protocol, owner, key: claimKey(ip, port, protocol) };
}

/**
 * The claims of the served service ports (`served`: the ones with a listener), in name order so
 * that the same service port wins a contested key on every sync.
 */
export function planClaims(served: readonly ServicePort[], family: IPFamily, isLocal: (ip: string) => boolean): ClaimPlan {
  const byKey = new Map<string, PortClaim>();
  const conflicts: ClaimConflict[] = [];
  const sorted = [...served].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of sorted) {
    if (s.protocol !== 'TCP' && s.protocol !== 'UDP') continue;
    const protocol: ListenProtocol = s.protocol;
    const wanted: PortClaim[] = [];
    for (const ip of new Set([s.clusterIP, ...s.externalIPs, ...s.loadBalancerVIPs])) {
      if (ip !== '' && ip !== 'None' && isLocal(ip)) wanted.push(makeClaim(ip, s.port, protocol, s.name));
    }
    if (s.nodePort !== 0) wanted.push(makeClaim(unspecifiedAddress(family), s.nodePort, protocol, s.name));
    for (const c of wanted) {
      const held = byKey.get(c.key);
      if (held === undefined) byKey.set(c.key, c);
      else if (held.owner !== c.owner) conflicts.push({ claim: c, holder: held.owner });
    }
  }
  return { claims: [...byKey.values()], conflicts };
}

/**
 * The service port as its portal rules may use it: upstream installs no rule for a portal or a
 * NodePort whose claim failed (openOnePortal / openNodePort return before EnsureRule), so the
 * program that holds the port keeps its traffic. `unclaimed` holds the failed claims' keys.
 */
export function withoutUnclaimed(s: ServicePort, family: IPFamily, unclaimed: ReadonlySet<string>): ServicePort {
  if (unclaimed.size === 0 || (s.protocol !== 'TCP' && s.protocol !== 'UDP')) return s;
  const protocol: ListenProtocol = s.protocol;
  const ok = (ip: string): boolean => !unclaimed.has(claimKey(ip, s.port, protocol));
  const nodePortOk = s.nodePort === 0 || !unclaimed.has(claimKey(unspecifiedAddress(family), s.nodePort, protocol));
  const externalIPs = s.externalIPs.filter(ok);
  const loadBalancerVIPs = s.loadBalancerVIPs.filter(ok);
  if (nodePortOk && externalIPs.length === s.externalIPs.length && loadBalancerVIPs.length === s.loadBalancerVIPs.length) return s;
  return { ...s, externalIPs, loadBalancerVIPs, nodePort: nodePortOk ? s.nodePort : 0 };
}
