// The Proxier for --proxy-mode=userspace: each sync opens/closes the per-service-port listeners,
// hands every load balancer its endpoints (connections to removed endpoints drain), and rewrites
// the portal rules in one iptables-restore. Upstream v1.25 pkg/proxy/userspace/proxier.go.
import { networkInterfaces } from 'node:os';
import { KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily, Proxier, ProxyState, ServicePort, ServicePortName, SyncResult } from '../../../model/types.ts';
import type { Iptables } from '../../../system/iptables.ts';
import { planClaims, withoutUnclaimed } from '../claims.ts';
import { LoadBalancer } from '../load-balancer.ts';
import { planBackends, planListeners, portsWithoutEndpoints } from '../plan.ts';
import { planPortals, portalRulesNeeded, servedServicePorts } from '../portal-plan.ts';
import { PortalApplier } from '../userspace-applier.ts';
import { Listeners, type ListenersOptions } from './listeners.ts';
import { NodePortClaims } from './node-port-claims.ts';
import { TimerWheel } from './timer-wheel.ts';

export interface UserspaceProxierOptions {
  readonly family: IPFamily;
  /** The family's iptables on the back-end detected at start, for the portal rules. */
  readonly iptables: Iptables;
  readonly logger: Logger;
  /** Milliseconds for affinity and back-off; main.ts passes clock.now. */
  readonly now: () => number;
  /** Where listeners bind: config bindAddress ('0.0.0.0' / '::' = all, then REDIRECT is used). */
  readonly listenIP: string;
  /** A non-loopback node address: the DNAT target for host-originated traffic (upstream hostIP). */
  readonly hostIP: string;
  /** UDP session idle timeout (upstream --udp-timeout, default 250 ms). */
  readonly udpIdleTimeoutMs?: number;
  readonly tcp?: ListenersOptions['tcp'];
  /** Back-off for an endpoint whose dial failed (default 3 s). */
  readonly failureBackoffMs?: number;
  /** The node's own addresses, asked on every rules sync (default: the interfaces' addresses). */
  readonly localAddresses?: () => readonly string[];
}

/** Every address on this host's interfaces (upstream utilproxy.IsLocalIP reads the same list). */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

export interface UserspaceProxier extends Proxier {
  /** The proxy port of a served service port (tests, --dry-run output), or undefined. */
  proxyPort(name: ServicePortName): number | undefined;
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

export function createUserspaceProxier(o: UserspaceProxierOptions): UserspaceProxier {
  if (o.listenIP === '127.0.0.1' || o.listenIP === '::1') {
    // Upstream ErrProxyOnLocalhost: REDIRECT/DNAT to loopback cannot carry pod traffic.
    throw new KubeProxyError('KP_ERR_CONFIG_INVALID', 'userspace: cannot proxy on localhost (bindAddress)');
  }
  const log = o.logger.child({ mode: 'userspace', family: o.family });
  const lb = new LoadBalancer({ now: o.now, ...(o.failureBackoffMs === undefined ? {} : { failureBackoffMs: o.failureBackoffMs }) });
  const wheel = new TimerWheel();
  const listeners = new Listeners({
    family: o.family,
    listenIP: o.listenIP,
    lb,
    wheel,
    logger: log,
    ...(o.udpIdleTimeoutMs === undefined ? {} : { udpIdleTimeoutMs: o.udpIdleTimeoutMs }),
    ...(o.tcp === undefined ? {} : { tcp: o.tcp }),
    onRebound: (name, port) => {
      // A restarted TCP relay worker could not bind the old proxy port (or none): the portals
      // still point there, so the next sync must rewrite them (and open the listener again).
      log.warn({ service: name, proxyPort: port ?? null }, 'userspace: listener moved to a new proxy port');
      lastOk = false;
    },
  });
  const applier = new PortalApplier({
    iptables: o.iptables,
    family: o.family,
    listenIP: o.listenIP,
    hostIP: o.hostIP,
  });
  const claims = new NodePortClaims({ family: o.family, logger: log });
  const localAddresses = o.localAddresses ?? interfaceAddresses;
  let lastOk = false;
  /** A claim failed (port taken by another program): retried on the next sync that writes rules. */
  let claimsOk = true;
  /** Our portals are in the kernel (set by a sync): close() then holds their traffic. */
  let rulesInstalled = false;
  /** The service ports written as REJECT (no endpoints) by the last rules sync. */
  let rejected = new Set<ServicePortName>();

  /**
   * Claim the node ports of the served service ports (upstream claimNodePort) and return the
   * service ports as their rules may use them: a portal whose port could not be claimed gets no rule.
   */
  async function claimPorts(
    served: readonly ServicePort[],
  ): Promise<{ usable: Map<ServicePortName, ServicePort>; keep: Set<string> }> {
    const local = new Set(localAddresses());
    const plan = planClaims(served, o.family, (ip) => local.has(ip));
    const unclaimed = new Map<ServicePortName, Set<string>>();
    const refuse = (owner: ServicePortName, key: string): void => {
      const set = unclaimed.get(owner) ?? new Set<string>();
      set.add(key);
      unclaimed.set(owner, set);
    };
    for (const c of plan.conflicts) {
      log.error({ service: c.claim.owner, claim: c.claim.key, holder: c.holder }, 'userspace: node port conflict, portal not opened');
      refuse(c.claim.owner, c.claim.key);
    }
    for (const f of await claims.claim(plan.claims)) {
      log.error({ service: f.claim.owner, claim: f.claim.key, code: f.code }, 'userspace: cannot claim node port, portal not opened');
      refuse(f.claim.owner, f.claim.key);
    }
    claimsOk = unclaimed.size === 0;
    return {
      usable: new Map(served.map((s) => [s.name, withoutUnclaimed(s, o.family, unclaimed.get(s.name) ?? new Set())])),
      keep: new Set(plan.claims.map((c) => c.key)),
    };
  }

  async function sync(state: ProxyState): Promise<SyncResult> {
    const plan = planListeners(state.services, listeners.current);
    for (const u of plan.unsupported) log.warn({ service: u.name, reason: u.reason }, 'userspace: service port not proxied');
    for (const name of plan.close) {
      await listeners.close(name);
      lb.deleteService(name);
    }
    const openFailures: string[] = [];
    for (const { name, protocol } of plan.open) {
      try {
        const l = await listeners.open(name, protocol);
        log.info({ service: name, protocol, proxyPort: l.port }, 'userspace: proxying service port');
      } catch (err) {
        // One service port that cannot listen must not keep the others from being served.
        log.error({ service: name, err }, 'userspace: opening the listener failed');
        openFailures.push(name);
      }
    }
    for (const [name, b] of planBackends(state)) lb.setService(name, b.affinity, b.targets);
    listeners.drainRemoved();
    lb.cleanup();

    const noEndpoints = portsWithoutEndpoints(state);
    const rulesNeeded = portalRulesNeeded({
      full: state.full, lastOk, claimsOk, opened: plan.open.length, closed: plan.close.length, changedServices: state.changedServices.size,
      rejectedChanged: !sameSet(noEndpoints, rejected),
    });
    if (!rulesNeeded) return { kind: state.changedEndpoints.size > 0 ? 'partial' : 'noop' };
    const { usable, keep } = await claimPorts(servedServicePorts(listeners.current, state.services));
    const portals = planPortals(listeners.current, usable, noEndpoints);
    lastOk = false;
    const rendered = await applier.apply(portals, state.full);
    rulesInstalled = true;
    rejected = noEndpoints;
    // Released only once no rule sends the port to us any more (upstream closeNodePort order).
    await claims.releaseExcept(keep);
    lastOk = openFailures.length === 0;
    if (openFailures.length > 0) {
      throw new KubeProxyError('KP_ERR_SYNC', `userspace: could not listen for ${openFailures.join(', ')}`);
    }
    return {
      kind: state.full ? 'full' : 'partial',
      counts: { 'nat-rules': rendered.natRules, 'filter-rules': rendered.filterRules },
    };
  }

  return {
    mode: 'userspace',
    family: o.family,
    sync,
    proxyPort: (name) => listeners.current.get(name)?.port,
    async close() {
      // Before the listeners go: from here on a redirected connection waits for the next proxy
      // (a retransmitted SYN) instead of being refused by a closed port.
      if (rulesInstalled && listeners.current.size > 0) {
        const ports = [...listeners.current.values()].map((l) => ({ protocol: l.protocol, proxyPort: l.port }));
        try {
          await applier.park(ports);
          log.info({ ports: ports.length }, 'userspace: stopping; redirected traffic is held for the next proxy');
        } catch (err) {
          log.error({ err }, 'userspace: could not hold redirected traffic; it is refused until the next proxy syncs');
        }
      }
      await listeners.closeAll();
      await claims.closeAll();
      wheel.stop();
    },
  };
}
