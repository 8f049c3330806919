// The userspace mode's netfilter "portals": nat rules that send a service's addresses to the
// port where the daemon listens for it. Chains, comments and rule shapes follow upstream v1.25
// pkg/proxy/userspace/proxier.go (iptablesInit, openOnePortal, openNodePort, *PortalArgs), written
// as one iptables-restore --noflush transaction: declaring our chains flushes and refills them.
import type { IPFamily, ServicePort } from '../../model/types.ts';
import { joinHostPort } from '../../model/ip.ts';
import { quotedComment } from '../iptables/comment.ts';
import { cidrContains } from '../iptables/options.ts';
import { FILTER_JUMPS, USERSPACE_FILTER_CHAINS, jumpSpec, renderFilterRules } from './filter-rules.ts';

export const CONTAINER_PORTAL_CHAIN = 'KUBE-PORTALS-CONTAINER';
export const HOST_PORTAL_CHAIN = 'KUBE-PORTALS-HOST';
export const CONTAINER_NODEPORT_CHAIN = 'KUBE-NODEPORT-CONTAINER';
export const HOST_NODEPORT_CHAIN = 'KUBE-NODEPORT-HOST';
export const NON_LOCAL_NODEPORT_CHAIN = 'KUBE-NODEPORT-NON-LOCAL';

export interface Jump {
  readonly table: 'nat' | 'filter';
  readonly chain: string;
  readonly target: string;
  /** Upstream prepends the portal jumps and appends the NodePort ones (order matters, see iptablesInit). */
  readonly position: 'first' | 'last';
  readonly spec: string;
}

const portalComment = '-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules"';
const nodePortMatch =
  '-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain"';

/** The jumps from the built-in chains into ours (upstream iptablesInit). */
export const JUMPS: readonly Jump[] = [
  { table: 'nat', chain: 'PREROUTING', target: CONTAINER_PORTAL_CHAIN, position: 'first', spec: portalComment },
  { table: 'nat', chain: 'OUTPUT', target: HOST_PORTAL_CHAIN, position: 'first', spec: portalComment },
  { table: 'nat', chain: 'PREROUTING', target: CONTAINER_NODEPORT_CHAIN, position: 'last', spec: nodePortMatch },
  { table: 'nat', chain: 'OUTPUT', target: HOST_NODEPORT_CHAIN, position: 'last', spec: nodePortMatch },
  {
    table: 'filter',
    chain: 'INPUT',
    target: NON_LOCAL_NODEPORT_CHAIN,
    position: 'first',
    spec: '-m comment --comment "Ensure that non-local NodePort traffic can flow"',
  },
  // The REJECT / source-range chains (filter-rules.ts), jumped to as the iptables mode does.
  ...FILTER_JUMPS.map((j) => ({ table: 'filter' as const, chain: j.chain, target: j.target, position: 'first' as const, spec: jumpSpec(j) })),
];

/** One service port and the port the daemon listens on for it. */
export interface Portal {
  readonly service: ServicePort;
  readonly proxyPort: number;
  /**
   * The listener for traffic from outside the node under externalTrafficPolicy: Local (see
   * plan.ts hasExternalListener); absent, external traffic goes to `proxyPort` too.
   */
  readonly externalProxyPort?: number;
  /** False: no endpoints anywhere, so no portal and a REJECT instead (filter-rules.ts). Default true. */
  readonly hasEndpoints?: boolean;
}

export interface PortalOptions {
  readonly family: IPFamily;
  /** The address the daemon's listeners bind; '0.0.0.0' / '::' means all, and then REDIRECT is used. */
  readonly listenIP: string;
  /** A non-loopback node address, the DNAT target for host traffic when listening on all addresses. */
  readonly hostIP: string;
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

function hostPort(ip: string, port: number): string {
  return joinHostPort(ip, port);
}

/** Upstream iptablesCommonPortalArgs. */
function common(
  name: string,
  protocol: string,
  port: number,
  family: IPFamily,
  destIP: string | null,
  physdev: boolean,
  dstLocal: boolean,
): string {
  const p = protocol.toLowerCase();
  let s = `-m comment --comment ${quotedComment(name)} -p ${p} -m ${p} --dport ${port}`;
  if (destIP !== null) s += ` -d ${destIP}/${family === 'IPv6' ? 128 : 32}`;
  if (physdev) s += ' -m physdev ! --physdev-is-in';
  if (dstLocal) s += ' -m addrtype --dst-type LOCAL';
  return s;
}

/**
 * Traffic arriving in the node's namespace (pods, the outside) is REDIRECTed to the listener when
 * it binds all addresses: the reply then leaves from the interface it came in on, which UDP
 * clients need (upstream iptablesContainerPortalArgs). A listener on one address gets DNAT to it.
 */
function containerTarget(o: PortalOptions, proxyPort: number): string {
  return isUnspecified(o.listenIP)
    ? `-j REDIRECT --to-ports ${proxyPort}`
    : `-j DNAT --to-destination ${hostPort(o.listenIP, proxyPort)}`;
}

/**
 * Locally generated traffic: REDIRECT would answer from another address, so DNAT to the node IP
 * (upstream iptablesHostPortalArgs). Traffic to a local address (an externalIP held by the node)
 * is DNATed to that address itself: a UDP listener on all addresses answers from the source the
 * route to the client picks, which for a client on the node is the address it sent to, so with the
 * node IP as target the reply never matched the flow (ours; upstream had the same gap).
 */
function hostTarget(o: PortalOptions, proxyPort: number, localDestination?: string): string {
  const ip = isUnspecified(o.listenIP) ? (localDestination ?? o.hostIP) : o.listenIP;
  return `-j DNAT --to-destination ${hostPort(ip, proxyPort)}`;
}

/** The source matches of an LB IP's container portal: one unrestricted, or one per allowed source. */
function sourceMatches(s: ServicePort, hostIP: string): string[] {
  if (s.loadBalancerSourceRanges.length === 0) return [''];
  const out = s.loadBalancerSourceRanges.map((cidr) => ` -s ${cidr}`);
  if (hostIP !== '' && s.loadBalancerSourceRanges.some((cidr) => cidrContains(cidr, hostIP))) {
    for (const ip of s.loadBalancerVIPs) out.push(` -s ${ip}`);
  }
  return out;
}

export interface RenderedPortals {
  readonly text: string;
  readonly natRules: number;
  readonly filterRules: number;
}

/**
 * The restore text for every portal. `presentJumps` holds `chain>target` of the jumps already in
 * the built-in chains (see parseJumps); the missing ones are inserted or appended.
 */
export function renderPortals(
  portals: readonly Portal[],
  options: PortalOptions,
  presentJumps: ReadonlySet<string>,
): RenderedPortals {
  const cp: string[] = [];
  const hp: string[] = [];
  const cn: string[] = [];
  const hn: string[] = [];
  const nl: string[] = [];
  const sorted = [...portals].sort((x, y) => (x.service.name < y.service.name ? -1 : x.service.name > y.service.name ? 1 : 0));
  const filter = renderFilterRules(sorted.map((p) => ({ service: p.service, hasEndpoints: p.hasEndpoints !== false })));
  for (const { service: s, proxyPort, externalProxyPort, hasEndpoints } of sorted) {
    if (hasEndpoints === false) continue;
    const ext = externalProxyPort ?? proxyPort;
    const ct = containerTarget(options, proxyPort);
    const cte = containerTarget(options, ext);
    const ht = hostTarget(options, proxyPort);
    const c = (ip: string | null, port: number, physdev: boolean, local: boolean): string =>
      common(s.name, s.protocol, port, s.family, ip, physdev, local);
    /**
     * Traffic from outside the node: to the external listener. With one, the node's bridged pods
     * (physdev --physdev-is-in) are split off first to the main listener, as the iptables mode
     * short-circuits pod traffic to external addresses to the cluster endpoints.
     */
    const outside = (chain: string[], name: string, match: string): void => {
      if (ext !== proxyPort) chain.push(`-A ${name} ${match} -m physdev --physdev-is-in ${ct}`);
      chain.push(`-A ${name} ${match} ${cte}`);
    };
    // ClusterIP: a container rule and a host rule (openOnePortal, isExternal=false).
    if (s.clusterIP !== '' && s.clusterIP !== 'None') {
      cp.push(`-A ${CONTAINER_PORTAL_CHAIN} ${c(s.clusterIP, s.port, false, false)} ${ct}`);
      hp.push(`-A ${HOST_PORTAL_CHAIN} ${c(s.clusterIP, s.port, false, false)} ${ht}`);
    }
    // Load-balancer IPs: the same shapes; the node itself is internal traffic, always let through
    // (its rule is in the host chain). With loadBalancerSourceRanges only the listed sources get a
    // portal (upstream KUBE-FW-* chains), and the LB IPs themselves when a range holds the node's
    // address (upstream allowFromNode, for hairpinned LB traffic); the rest is dropped in filter.
    const sources = sourceMatches(s, options.hostIP);
    for (const ip of s.loadBalancerVIPs) {
      for (const src of sources) outside(cp, CONTAINER_PORTAL_CHAIN, `${c(ip, s.port, false, false)}${src}`);
      hp.push(`-A ${HOST_PORTAL_CHAIN} ${c(ip, s.port, false, false)} ${ht}`);
    }
    // externalIPs: from outside (not bridged in), then from local pods and the host only when the IP is the node's.
    for (const ip of s.externalIPs) {
      cp.push(`-A ${CONTAINER_PORTAL_CHAIN} ${c(ip, s.port, true, false)} ${cte}`);
      cp.push(`-A ${CONTAINER_PORTAL_CHAIN} ${c(ip, s.port, false, true)} ${ct}`);
      hp.push(`-A ${HOST_PORTAL_CHAIN} ${c(ip, s.port, false, true)} ${hostTarget(options, proxyPort, ip)}`);
    }
    if (s.nodePort !== 0) {
      outside(cn, CONTAINER_NODEPORT_CHAIN, c(null, s.nodePort, false, false));
      hn.push(`-A ${HOST_NODEPORT_CHAIN} ${c(null, s.nodePort, false, false)} ${ht}`);
      // Upstream matches the proxy port here: that is the port the packet has after nat PREROUTING.
      nl.push(`-A ${NON_LOCAL_NODEPORT_CHAIN} ${c(null, ext, false, false)} -m state --state NEW -j ACCEPT`);
    }
  }
  const jumps = (table: 'nat' | 'filter'): string[] =>
    JUMPS.filter((j) => j.table === table && !presentJumps.has(`${j.chain}>${j.target}`)).map((j) =>
      j.position === 'first' ? `-I ${j.chain} 1 ${j.spec} -j ${j.target}` : `-A ${j.chain} ${j.spec} -j ${j.target}`,
    );
  const lines = [
    '*nat',
    `:${CONTAINER_PORTAL_CHAIN} - [0:0]`,
    `:${HOST_PORTAL_CHAIN} - [0:0]`,
    `:${CONTAINER_NODEPORT_CHAIN} - [0:0]`,
    `:${HOST_NODEPORT_CHAIN} - [0:0]`,
    ...cp,
    ...hp,
    ...cn,
    ...hn,
    ...jumps('nat'),
    'COMMIT',
    '*filter',
    `:${NON_LOCAL_NODEPORT_CHAIN} - [0:0]`,
    ...USERSPACE_FILTER_CHAINS.map((chain) => `:${chain} - [0:0]`),
    ...nl,
    ...filter.services,
    ...filter.external,
    ...jumps('filter'),
    'COMMIT',
    '',
  ];
  return {
    text: lines.join('\n'),
    natRules: cp.length + hp.length + cn.length + hn.length,
    filterRules: nl.length + filter.services.length + filter.external.length,
  };
}

/** A listener's port, as the rules that hold its traffic while the daemon is stopped see it. */
export interface ParkedPort {
  readonly protocol: 'TCP' | 'UDP';
  readonly proxyPort: number;
}

const PARKED_COMMENT = '-m comment --comment "userspace proxy stopped: hold redirected traffic for the next proxy"';

/**
 * Ours, not upstream's (v1.25 left its REDIRECTs pointing at closed ports on exit, so every
 * connection was refused until the next proxy synced): when the daemon stops, the portals stay and
 * KUBE-NODEPORT-NON-LOCAL (filter INPUT, first) is rewritten to DROP what they redirect to our
 * closing ports. A TCP client then retransmits its SYN (after 1 s, 3 s, ...) instead of being
 * refused; the dropped SYN leaves no conntrack entry, so the retransmission meets whatever rules
 * the next proxy wrote (a new userspace sync refills this chain; another mode removes it with the
 * portals). Only new connections that a portal redirected (ctstate DNAT) match, so a program that
 * later binds one of these ports is not affected. For UDP every redirected datagram is dropped: its
 * flow's conntrack entry still points at the dead port, and silence is what UDP clients retry on.
 */
export function renderParked(ports: readonly ParkedPort[], presentJumps: ReadonlySet<string>): string {
  const rules = [...ports]
    .sort((a, b) => a.proxyPort - b.proxyPort || (a.protocol < b.protocol ? -1 : 1))
    .map((p) => {
      const proto = p.protocol.toLowerCase();
      const state = p.protocol === 'TCP' ? '-m conntrack --ctstate NEW ' : '';
      return `-A ${NON_LOCAL_NODEPORT_CHAIN} ${PARKED_COMMENT} -p ${proto} -m ${proto} --dport ${p.proxyPort} ${state}-m conntrack --ctstate DNAT -j DROP`;
    });
  const jumps = JUMPS.filter((j) => j.target === NON_LOCAL_NODEPORT_CHAIN && !presentJumps.has(`${j.chain}>${j.target}`)).map(
    (j) => `-I ${j.chain} 1 ${j.spec} -j ${j.target}`,
  );
  return ['*filter', `:${NON_LOCAL_NODEPORT_CHAIN} - [0:0]`, ...rules, ...jumps, 'COMMIT', ''].join('\n');
}

/** A jump found in iptables-save output: its key and the exact saved rule (for deletion). */
export interface SavedJump {
  readonly key: string;
  readonly rule: string;
}

const ourChains = new Set(JUMPS.map((j) => j.target));

/** The jumps into our chains present in `iptables-save` output (any table), keyed `chain>target`. */
export function parseJumps(saveOutput: string): SavedJump[] {
  const found: SavedJump[] = [];
  let table = '';
  for (const line of saveOutput.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const m = /^-A (\S+) .*-j (\S+)\s*$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined || !ourChains.has(m[2])) continue;
    const jump = JUMPS.find((j) => j.chain === m[1] && j.target === m[2] && j.table === table);
    if (jump) found.push({ key: `${m[1]}>${m[2]}`, rule: line });
  }
  return found;
}

/** Restore text removing every jump found and then our chains (upstream CleanupLeftovers). */
export function renderCleanup(present: readonly SavedJump[]): string {
  const del = (table: string): string[] =>
    present
      .filter((p) => JUMPS.some((j) => j.table === table && `${j.chain}>${j.target}` === p.key))
      .map((p) => `-D${p.rule.slice(2)}`);
  const nat = [CONTAINER_PORTAL_CHAIN, HOST_PORTAL_CHAIN, CONTAINER_NODEPORT_CHAIN, HOST_NODEPORT_CHAIN];
  const filterChains = [NON_LOCAL_NODEPORT_CHAIN, ...USERSPACE_FILTER_CHAINS];
  return [
    '*nat',
    ...nat.map((c) => `:${c} - [0:0]`),
    ...del('nat'),
    ...nat.map((c) => `-X ${c}`),
    'COMMIT',
    '*filter',
    ...filterChains.map((c) => `:${c} - [0:0]`),
    ...del('filter'),
    ...filterChains.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}
