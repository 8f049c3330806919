// The userspace proxier's endpoint chooser: round robin per service port, ClientIP session
// affinity with a timeout, and a short back-off for an endpoint whose connect just failed, so the
// next connection does not pay for the same dead pod again. Modelled on upstream v1.25
// pkg/proxy/userspace/roundrobin.go (LoadBalancerRR.NextEndpoint); pure, the clock is injected.
import type { ServicePortName, SessionAffinity } from '../../model/types.ts';
import { joinHostPort } from '../../model/ip.ts';

/** Where a connection may be sent. `key` is `ip:port` (`[ip]:port` for IPv6), unique per service port. */
export interface Target {
  readonly ip: string;
  readonly port: number;
  readonly key: string;
}

/**
 * Upstream proxysocket.go EndpointDialTimeouts: one dial per entry, each longer than the last, so
 * a connection tries at most this many endpoints before giving up.
 */
export const DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

export interface LoadBalancerOptions {
  /** Milliseconds, monotonic enough for affinity and back-off (an injected clock). */
  readonly now: () => number;
  /** How long a target that refused or timed out is passed over (default 3000 ms). */
  readonly failureBackoffMs?: number;
}

interface Sticky {
  key: string;
  lastUsed: number;
}

interface ServiceEntry {
  targets: Target[];
  index: number;
  affinity: SessionAffinity;
  /** Client IP → the target it sticks to (ClientIP affinity only). */
  sticky: Map<string, Sticky>;
}

export function targetKey(ip: string, port: number): string {
  return joinHostPort(ip, port);
}

export function makeTarget(ip: string, port: number): Target {
  return { ip, port, key: targetKey(ip, port) };
}

export class LoadBalancer {
  readonly #services = new Map<ServicePortName, ServiceEntry>();
  /** Target key → time until which it is passed over; shared by all services (a dead pod is dead for all). */
  readonly #failedUntil = new Map<string, number>();
  readonly #now: () => number;
  readonly #backoffMs: number;

  constructor(options: LoadBalancerOptions) {
    this.#now = options.now;
    this.#backoffMs = options.failureBackoffMs ?? 3000;
  }

  /**
   * Set a service port's targets and affinity. Affinity entries pointing at removed targets are
   * dropped, so the next connection of that client is re-balanced (upstream updateAffinityMap).
   */
  setService(name: ServicePortName, affinity: SessionAffinity, targets: readonly Target[]): void {
    const prev = this.#services.get(name);
    const entry: ServiceEntry = prev ?? { targets: [], index: 0, affinity, sticky: new Map() };
    const changed = !prev || !sameTargets(prev.targets, targets);
    if (prev && (prev.affinity.type !== affinity.type || prev.affinity.timeoutSeconds !== affinity.timeoutSeconds)) {
      entry.sticky.clear();
    }
    entry.affinity = affinity;
    if (changed) {
      entry.targets = [...targets];
      // Upstream resets the index when the endpoint list changes (roundrobin.go buildPortsToEndpointsMap).
      entry.index = 0;
      const live = new Set(targets.map((t) => t.key));
      for (const [client, s] of entry.sticky) if (!live.has(s.key)) entry.sticky.delete(client);
    }
    this.#services.set(name, entry);
  }

  /** The service port's affinity and targets, for a relay that keeps its own balancer (the kernel engine's worker). */
  service(name: ServicePortName): { readonly affinity: SessionAffinity; readonly targets: readonly Target[] } | undefined {
    const entry = this.#services.get(name);
    return entry && { affinity: entry.affinity, targets: entry.targets };
  }

  get failureBackoffMs(): number {
    return this.#backoffMs;
  }

  deleteService(name: ServicePortName): void {
    this.#services.delete(name);
  }

  /** Whether `key` is still a target of the service port (new connections stop at once when not). */
  hasTarget(name: ServicePortName, key: string): boolean {
    const entry = this.#services.get(name);
    if (!entry) return false;
    for (const t of entry.targets) if (t.key === key) return true;
    return false;
  }

  /** Affinity records held for the service port (bounded by cleanup). */
  stickyCount(name: ServicePortName): number {
    return this.#services.get(name)?.sticky.size ?? 0;
  }

  targetCount(name: ServicePortName): number {
    return this.#services.get(name)?.targets.length ?? 0;
  }

  /**
   * Whether next() looks at the client IP (ClientIP affinity): the relay asks the kernel for a
   * connection's peer address (a getpeername syscall and an object per connection) only then.
   */
  needsClientIP(name: ServicePortName): boolean {
    return this.#services.get(name)?.affinity.type === 'ClientIP';
  }

  /**
   * The next target for a connection from `clientIP`, or undefined when the service port has
   * none. `retry` is upstream's sessionAffinityReset: after a failed dial the sticky choice is
   * ignored and replaced. Targets in back-off are skipped unless every target is in back-off (a
   * stale failure must not turn a working service off).
   */
  next(name: ServicePortName, clientIP: string, retry: boolean): Target | undefined {
    const entry = this.#services.get(name);
    if (!entry || entry.targets.length === 0) return undefined;
    const now = this.#now();
    const useAffinity = entry.affinity.type === 'ClientIP';
    if (useAffinity && !retry) {
      const s = entry.sticky.get(clientIP);
      if (s && now - s.lastUsed <= entry.affinity.timeoutSeconds * 1000) {
        const t = entry.targets.find((x) => x.key === s.key);
        if (t && !this.#inBackoff(t.key, now)) {
          s.lastUsed = now;
          return t;
        }
      }
    }
    const n = entry.targets.length;
    let chosen: Target | undefined;
    for (let i = 0; i < n; i++) {
      const t = entry.targets[(entry.index + i) % n];
      if (t !== undefined && !this.#inBackoff(t.key, now)) {
        chosen = t;
        entry.index = (entry.index + i + 1) % n;
        break;
      }
    }
    if (!chosen) {
      chosen = entry.targets[entry.index % n];
      entry.index = (entry.index + 1) % n;
    }
    if (chosen && useAffinity) entry.sticky.set(clientIP, { key: chosen.key, lastUsed: now });
    return chosen;
  }

  /** A dial to `key` was refused or timed out: pass it over for the back-off period. */
  markFailed(key: string): void {
    this.#failedUntil.set(key, this.#now() + this.#backoffMs);
  }

  /** A dial to `key` succeeded: forget an earlier failure at once. */
  markSucceeded(key: string): void {
    if (this.#failedUntil.size > 0) this.#failedUntil.delete(key);
  }

  /** Drop expired affinity and back-off records (upstream CleanupStaleStickySessions, run per sync). */
  cleanup(): void {
    const now = this.#now();
    for (const entry of this.#services.values()) {
      const ttl = entry.affinity.timeoutSeconds * 1000;
      for (const [client, s] of entry.sticky) if (now - s.lastUsed > ttl) entry.sticky.delete(client);
    }
    for (const [key, until] of this.#failedUntil) if (until <= now) this.#failedUntil.delete(key);
  }

  #inBackoff(key: string, now: number): boolean {
    if (this.#failedUntil.size === 0) return false;
    const until = this.#failedUntil.get(key);
    return until !== undefined && until > now;
  }
}

function sameTargets(a: readonly Target[], b: readonly Target[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]?.key !== b[i]?.key) return false;
  return true;
}
