// Part of the composition root: this node's IPs from its Node object, as upstream kube-proxy
// takes them (cmd/kube-proxy/app/server.go: NodeManager.NodeIPs → detectNodeIPs). A sink in front
// of the cluster state sees the Node the source delivers (the API informer with its field selector,
// or a Node manifest), start-up waits a bounded time for its addresses, and a later change of
// them is reported, as upstream's NodeManager exits on one (pkg/proxy/node.go OnNodeChange) so
// the proxiers are rebuilt with the new IPs by a restart.
import type { V1Node } from '@kubernetes/client-node';
import { detectNodeIPs, nodeHostIPs, primaryNodeIPs, type NodeIPs } from '../config/node-ips.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily } from '../model/types.ts';
import type { ClusterSource, ClusterStateSink, KindMap, ObjectKind } from '../sources/types.ts';

/**
 * How long start-up waits for the Node's addresses from the API server before falling back: the
 * ~31 s of upstream's getNodeIPs backoff (1 s doubling over 6 steps, v1.26–v1.31 server.go).
 */
export const NODE_IP_WAIT_MS = 30_000;

const sameIPs = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((ip, i) => ip === b[i]);

/** Passes everything to `inner` and keeps the host IPs of the Node named `nodeName`. */
export class NodeIPTracker implements ClusterStateSink {
  readonly #inner: ClusterStateSink;
  readonly #nodeName: string;
  #ips: string[] = [];
  #nodeSynced = false;
  #fixed: readonly string[] | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #changeListeners = new Set<(before: readonly string[], after: readonly string[]) => void>();

  constructor(inner: ClusterStateSink, nodeName: string) {
    this.#inner = inner;
    this.#nodeName = nodeName;
  }

  upsert<K extends ObjectKind>(kind: K, obj: KindMap[K]): void {
    this.#inner.upsert(kind, obj);
    if (kind === 'Node' && obj.metadata?.name === this.#nodeName) this.#update(nodeHostIPs(obj as V1Node));
  }

  remove(kind: ObjectKind, key: string): void {
    // A deleted Node keeps its last IPs: the rules stay as they are until a new Node arrives.
    this.#inner.remove(kind, key);
  }

  replace<K extends ObjectKind>(kind: K, objs: readonly KindMap[K][]): void {
    this.#inner.replace(kind, objs);
    if (kind !== 'Node') return;
    const mine = objs.find((o) => o.metadata?.name === this.#nodeName);
    if (mine !== undefined) this.#update(nodeHostIPs(mine as V1Node));
  }

  retain(kind: ObjectKind, keys: ReadonlySet<string>): void {
    // The Node's IPs came with its upsert; a Node gone from the list keeps them, as on remove.
    if (this.#inner.retain) this.#inner.retain(kind, keys);
    else throw new Error(`${kind}: the wrapped sink cannot retain; deliver with replace`);
  }

  synced(kind: ObjectKind): void {
    this.#inner.synced(kind);
    if (kind === 'Node') {
      this.#nodeSynced = true;
      this.#wake();
    }
  }

  /** The Node's host IPs now (upstream GetNodeHostIPs), empty while unknown. */
  get ips(): readonly string[] {
    return this.#ips;
  }

  /**
   * The Node's IPs once known; after `waitMs` without them (or at once with 0, once the Node kind
   * has been listed), an empty list.
   */
  waitForIPs(waitMs: number): Promise<readonly string[]> {
    if (this.#ips.length > 0 || (waitMs <= 0 && this.#nodeSynced)) return Promise.resolve(this.#ips);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.#ips);
      };
      const check = (): void => {
        if (this.#ips.length > 0 || (waitMs <= 0 && this.#nodeSynced)) done();
      };
      const timer = setTimeout(done, Math.max(0, waitMs));
      this.#waiters.add(check);
    });
  }

  /** Record the IPs the proxiers were built with; later different (non-empty) IPs are reported. */
  fix(ips: readonly string[], onChange: (before: readonly string[], after: readonly string[]) => void): void {
    this.#fixed = [...ips];
    this.#changeListeners.add(onChange);
  }

  #update(ips: string[]): void {
    const before = this.#ips;
    this.#ips = ips;
    this.#wake();
    const fixed = this.#fixed;
    if (fixed === undefined || ips.length === 0 || sameIPs(ips, fixed) || sameIPs(ips, before)) return;
    for (const l of this.#changeListeners) l(fixed, ips);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/**
 * The node IPs the proxiers are built with: the Node's (waiting up to `waitMs` for them), unless
 * bindAddress overrides the primary; loopback when neither is known, logged as upstream does.
 */
export async function startupNodeIPs(tracker: NodeIPTracker, bindAddress: string, waitMs: number, logger: Logger): Promise<NodeIPs> {
  const raw = await tracker.waitForIPs(waitMs);
  if (raw.length > 0) logger.info({ nodeIPs: raw }, 'node IPs from the Node object');
  const ips = detectNodeIPs(raw, bindAddress);
  if (ips.source === 'loopback') {
    logger.warn({ waitedMs: waitMs, bindAddress }, "can't determine this node's IP, assuming loopback; if this is incorrect, set --bind-address or give the Node status.addresses");
  } else {
    logger.info({ primaryFamily: ips.primaryFamily, nodeIPs: ips.byFamily, source: ips.source }, 'node IPs');
  }
  return ips;
}

export interface NodeIPStartDeps {
  readonly source: ClusterSource;
  readonly state: ClusterStateSink;
  readonly nodeName: string;
  readonly bindAddress: string;
  /** With an API server the Node may lag (NODE_IP_WAIT_MS); a manifests dir is read whole at start (0). */
  readonly waitMs: number;
  readonly logger: Logger;
}

/**
 * Start the source with the tracker in front of the state, and settle the node IPs the proxiers
 * are built with, before any of them exists (upstream builds its NodeManager first, too).
 */
export async function startSourceForNodeIPs(d: NodeIPStartDeps): Promise<{ tracker: NodeIPTracker; nodeIPs: NodeIPs }> {
  const tracker = new NodeIPTracker(d.state, d.nodeName);
  await d.source.start(tracker);
  const nodeIPs = await startupNodeIPs(tracker, d.bindAddress, d.waitMs, d.logger);
  return { tracker, nodeIPs };
}

/**
 * Where the per-service health-check servers listen: upstream binds them to the addresses
 * nodePortAddresses selects (pkg/proxy/healthcheck/service_health.go); with "primary" those are the
 * node IPs. Otherwise (and while the node IP is unknown) all addresses, the default.
 */
export function serviceHealthAddresses(nodePortAddresses: readonly string[], nodeIPs: NodeIPs, families: readonly IPFamily[]): string[] {
  if (nodePortAddresses.length !== 1 || nodePortAddresses[0] !== 'primary') return [];
  return primaryNodeIPs(nodeIPs, families);
}
