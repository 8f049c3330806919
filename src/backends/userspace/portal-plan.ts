// The userspace proxier's portal decisions (upstream v1.25 proxier.go syncProxyRules), pure:
// whether a sync rewrites the portal rules, which service ports they serve, and the portals for
// the listeners the sync left open. io/proxier.ts only carries them out.
import type { ServicePort, ServicePortName } from '../../model/types.ts';
import { externalListenerName } from './plan.ts';
import type { Portal } from './portal-rules.ts';

export interface RulesNeededInput {
  readonly full: boolean;
  /** The last sync wrote its rules and opened every listener. */
  readonly lastOk: boolean;
  /** Every node port the last rule write needed was claimed. */
  readonly claimsOk: boolean;
  readonly opened: number;
  readonly closed: number;
  readonly changedServices: number;
  /** The set of service ports without endpoints (REJECTed, filter-rules.ts) changed. */
  readonly rejectedChanged?: boolean;
}

/**
 * Whether the portal rules are rewritten: on a full sync, after any failure (a listener, a claim,
 * the rules), when a listener or a Service changed, and when a service port gained its first
 * endpoint or lost its last (its portal and its REJECT swap); other endpoint changes only re-balance.
 */
export function portalRulesNeeded(x: RulesNeededInput): boolean {
  return x.full || !x.lastOk || !x.claimsOk || x.opened > 0 || x.closed > 0 || x.changedServices > 0 || x.rejectedChanged === true;
}

/** The Service ports a listener is open for (an external listener counts with its service port). */
export function servedServicePorts(listeners: ReadonlyMap<ServicePortName, unknown>, services: ReadonlyMap<ServicePortName, ServicePort>): ServicePort[] {
  const out: ServicePort[] = [];
  for (const name of listeners.keys()) {
    const service = services.get(name);
    if (service) out.push(service);
  }
  return out;
}

/**
 * One portal per service-port listener, with the port of its external listener when it has one
 * (externalTrafficPolicy Local); `usable` is the service port as its rules may use it (node ports
 * that could not be claimed removed), and a listener without one gets no portal; a service port
 * in `withoutEndpoints` gets its REJECTs instead (filter-rules.ts).
 */
export function planPortals(
  listeners: ReadonlyMap<ServicePortName, { readonly port: number }>,
  usable: ReadonlyMap<ServicePortName, ServicePort>,
  withoutEndpoints: ReadonlySet<ServicePortName> = new Set(),
): Portal[] {
  const portals: Portal[] = [];
  for (const [name, l] of listeners) {
    const service = usable.get(name);
    if (!service) continue; // an external listener: it goes with its service port
    const external = listeners.get(externalListenerName(name));
    const hasEndpoints = !withoutEndpoints.has(name);
    portals.push({ service, proxyPort: l.port, hasEndpoints, ...(external ? { externalProxyPort: external.port } : {}) });
  }
  return portals;
}
