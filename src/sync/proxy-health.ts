// The state behind /healthz and /livez, as upstream's ProxyHealthServer
// (kubernetes/kubernetes pkg/proxy/healthcheck/proxy_health.go): per IP family, when the proxier
// last succeeded and since when a change has been waiting. A family is unhealthy only when a
// queued change has waited longer than healthTimeout (2 x syncPeriod upstream); an idle proxier is
// healthy, and so is one starting up. /healthz also requires the node to be eligible (no
// deletionTimestamp, no ToBeDeletedByClusterAutoscaler taint, KEP-3836). The body is upstream's
// v1.33 ProxyHealth (kubernetes#129271): lastUpdated, currentTime, nodeEligible (/healthz only),
// healthy, and status per IP family {lastUpdated, healthy}.
// /readyz is ours, beyond upstream: 503 until every family's first sync has succeeded (upstream's
// /healthz is 200 while starting, before anything is written), then /healthz's answer. Pure; the
// HTTP shell is src/server/http-servers.ts.
import type { IPFamily } from '../model/types.ts';
import type { Clock } from './clock.ts';

export interface ProbeResult {
  readonly status: 200 | 503;
  readonly body: Readonly<Record<string, unknown>>;
}

export class ProxyHealth {
  readonly #clock: Clock;
  readonly #healthTimeoutMs: number;
  readonly #lastUpdated = new Map<IPFamily, number>();
  readonly #oldestPendingQueued = new Map<IPFamily, number>();
  // Eligible while starting up, until a Node event says otherwise (upstream).
  #nodeEligible = true;
  /** The families /readyz waits for; undefined until the sync loop starts. */
  #expected: readonly IPFamily[] | undefined;
  readonly #programmed = new Set<IPFamily>();

  constructor(opts: { clock: Clock; healthTimeoutMs: number }) {
    this.#clock = opts.clock;
    this.#healthTimeoutMs = opts.healthTimeoutMs;
  }

  /** The proxier of `family` programmed the current state (upstream Updated). */
  updated(family: IPFamily): void {
    this.#oldestPendingQueued.delete(family);
    this.#lastUpdated.set(family, this.#clock.now());
  }

  /** A change for `family` arrived and is not programmed yet (upstream QueuedUpdate). */
  queuedUpdate(family: IPFamily): void {
    if (!this.#oldestPendingQueued.has(family)) this.#oldestPendingQueued.set(family, this.#clock.now());
  }

  /** The sync loop started with one proxier per family in `families`. */
  expectFamilies(families: readonly IPFamily[]): void {
    this.#expected = [...families];
  }

  /** The proxier of `family` finished a sync successfully: its rules are in the kernel. */
  programmed(family: IPFamily): void {
    this.#programmed.add(family);
  }

  /** From the Node object (NodeInfo.eligible). */
  setNodeEligible(eligible: boolean): void {
    this.#nodeEligible = eligible;
  }

  get nodeEligible(): boolean {
    return this.#nodeEligible;
  }

  /** The proxier's health without node eligibility (what service health checks report). */
  isHealthy(): boolean {
    return this.#check().healthy;
  }

  healthz(): ProbeResult {
    return this.#probe(true);
  }

  livez(): ProbeResult {
    return this.#probe(false);
  }

  /**
   * Ready once every expected family has been programmed, then exactly /healthz. The body is
   * /healthz's plus `ready` and the families still waiting for their first sync.
   */
  readyz(): ProbeResult {
    const hz = this.#probe(true);
    const waiting = this.#expected === undefined ? undefined : this.#expected.filter((f) => !this.#programmed.has(f));
    const firstSyncDone = waiting !== undefined && waiting.length === 0;
    const ready = firstSyncDone && hz.status === 200;
    const body = { ...hz.body, ready, waitingForFirstSync: waiting ?? 'sync loop not started' };
    return { status: ready ? 200 : 503, body };
  }

  #check(): { healthy: boolean; lastUpdated: number; status: Record<string, { lastUpdated: string; healthy: boolean }> } {
    const now = this.#clock.now();
    let healthy = true;
    let lastUpdated = 0;
    const status: Record<string, { lastUpdated: string; healthy: boolean }> = {};
    const families = new Set<IPFamily>([...this.#lastUpdated.keys(), ...this.#oldestPendingQueued.keys()]);
    for (const family of families) {
      const updated = this.#lastUpdated.get(family) ?? 0;
      lastUpdated = Math.max(lastUpdated, updated);
      const queued = this.#oldestPendingQueued.get(family);
      // Upstream also iterates only families it has seen; a queued change older than the
      // timeout is the one unhealthy case.
      const familyHealthy = queued === undefined || now - queued < this.#healthTimeoutMs;
      if (!familyHealthy) healthy = false;
      status[family] = { lastUpdated: new Date(updated).toISOString(), healthy: familyHealthy };
    }
    return { healthy, lastUpdated, status };
  }

  #probe(withNode: boolean): ProbeResult {
    const check = this.#check();
    const now = this.#clock.now();
    const healthy = check.healthy && (!withNode || this.#nodeEligible);
    // Upstream rewrites lastUpdated to "now" when healthy: older releases reported the last loop
    // run, and load balancers / scripts compare it with currentTime.
    const lastUpdated = healthy ? now : check.lastUpdated;
    const body: Record<string, unknown> = {
      lastUpdated: new Date(lastUpdated).toISOString(),
      currentTime: new Date(now).toISOString(),
    };
    if (withNode) body['nodeEligible'] = this.#nodeEligible;
    body['healthy'] = healthy;
    body['status'] = check.status;
    return { status: healthy ? 200 : 503, body };
  }
}
