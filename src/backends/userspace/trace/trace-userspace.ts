// `kube-proxy-ts trace` for the userspace mode. The kernel only holds the portals (portal-rules.ts:
// nat KUBE-PORTALS-* / KUBE-NODEPORT-* REDIRECT or DNAT a Service address to the daemon's proxy
// port) and the filter REJECT / source-range DROP rules (filter-rules.ts); the daemon picks the
// endpoint itself (load-balancer.ts: round robin, ClientIP affinity) and its status endpoint does
// not list endpoints, so the trace ends at the proxy port and says the daemon relays from there.
// The iptables mode's interpreter runs the rules (REDIRECT and physdev included). Pure.
import ipaddr from 'ipaddr.js';
import { TraceInputError } from '../../../errors.ts';
import { joinHostPort } from '../../../model/ip.ts';
import { EXTERNAL_CLIENT, FALLBACK_POD } from '../../../trace/sample-sources.ts';
import type { TraceQuery, TraceReport } from '../../../trace/trace-types.ts';
import { compileRuleset, tracePacket, type Tables, type TracePacket } from '../../iptables/trace/packet-tracer.ts';
import { RestoreParseError } from '../../iptables/trace/restore-parse.ts';
import type { CompiledRule } from '../../iptables/trace/rule-compile.ts';
import { serviceOf } from '../../iptables/trace/trace-explain.ts';
import { CONTAINER_NODEPORT_CHAIN, CONTAINER_PORTAL_CHAIN, HOST_NODEPORT_CHAIN, HOST_PORTAL_CHAIN } from '../portal-rules.ts';

const PORTAL_CHAINS = new Set([CONTAINER_PORTAL_CHAIN, HOST_PORTAL_CHAIN, CONTAINER_NODEPORT_CHAIN, HOST_NODEPORT_CHAIN]);

/** Whether an iptables-save text holds the userspace mode's portals. */
export function holdsUserspaceMode(saved: string): boolean {
  const nat = saved.indexOf('*nat');
  return nat >= 0 && saved.includes(`:${CONTAINER_PORTAL_CHAIN} `, nat);
}

function compile(saved: string): Tables {
  let tables: Tables;
  try {
    tables = compileRuleset(saved, { lenient: true });
  } catch (err) {
    if (err instanceof RestoreParseError) throw new TraceInputError(`not an iptables-save dump: ${err.message}`, { cause: err });
    throw err;
  }
  if (!tables.get('nat')?.has(CONTAINER_PORTAL_CHAIN)) throw new TraceInputError(`no userspace-mode rules: the nat table has no ${CONTAINER_PORTAL_CHAIN} chain`);
  return tables;
}

const sameFamily = (a: string, v6: boolean): boolean => ipaddr.isValid(a) && (ipaddr.parse(a).kind() === 'ipv6') === v6;

function source(q: TraceQuery, local: (ip: string) => boolean): { packet: TracePacket; from: string; notes: string[] } {
  const base = { dst: q.dest.ip, dport: q.dest.port, protocol: q.dest.protocol } as const;
  const v6 = q.dest.family === 'IPv6';
  const f = q.from;
  if (f.kind === 'external') return { packet: { ...base, src: EXTERNAL_CLIENT[q.dest.family], origin: 'remote' }, from: 'external', notes: [] };
  if (f.kind === 'ip') return { packet: { ...base, src: f.ip, origin: local(f.ip) ? 'host' : 'remote' }, from: local(f.ip) ? 'node' : 'the given address', notes: [] };
  if (f.kind === 'node') {
    const ip = q.nodeAddresses.find((a) => sameFamily(a, v6));
    if (ip === undefined) throw new TraceInputError(`--from node: no ${q.dest.family} address of this node is known${q.saved ? ' (give --node-ip with --state)' : ''}`);
    return { packet: { ...base, src: ip, origin: 'host' }, from: 'node', notes: [] };
  }
  // The portals name no cluster CIDR: any pod address does; a routed pod, not one bridged in
  // (physdev), which only the externalIP and Local-policy listeners tell apart.
  return { packet: { ...base, src: FALLBACK_POD[q.dest.family], origin: 'remote' }, from: 'pod', notes: ['a routed pod (not bridged in: physdev --physdev-is-in taken as false)'] };
}

/** What the portal rule's destination is: the first portal of a Service port is its cluster IP (portal-rules.ts order). */
function matchedAs(tables: Tables, portal: CompiledRule): string {
  if (portal.chain === CONTAINER_NODEPORT_CHAIN || portal.chain === HOST_NODEPORT_CHAIN) return 'node port';
  if (/ --dst-type LOCAL| --physdev-is-in/.test(portal.raw)) return 'external IP';
  const first = tables.get('nat')?.get(portal.chain)?.find((r) => r.comment === portal.comment);
  const dest = (r: CompiledRule | undefined): string | undefined => (r === undefined ? undefined : / -d (\S+)/.exec(r.raw)?.[1]);
  return dest(first) === dest(portal) ? 'cluster IP' : 'loadbalancer IP';
}

export function traceUserspace(saved: string, q: TraceQuery): TraceReport {
  const tables = compile(saved);
  const nodeAddrs = new Set(q.nodeAddresses.filter((a) => ipaddr.isValid(a)).map((a) => ipaddr.parse(a).toString()));
  const notes: string[] = [];
  const dashD = new RegExp(` -d ${q.dest.ip.replace(/[.]/g, '\\.')}(/\\d+)?( |$)`);
  const named = [...tables.values()].some((t) => [...t.values()].flat().some((r) => dashD.test(r.raw)));
  if (q.saved && !named && !nodeAddrs.has(q.dest.ip)) {
    nodeAddrs.add(q.dest.ip);
    notes.push(`${q.dest.ip} is taken as an address of the dumped node (no Service rule names it)`);
  }
  const local = (ip: string): boolean => ipaddr.isValid(ip) && nodeAddrs.has(ipaddr.parse(ip).toString());
  const src = source(q, local);
  const [o] = tracePacket(tables, src.packet, { localAddresses: [...nodeAddrs] }).outcomes;
  if (o === undefined) throw new Error('tracer: no path');
  const portal = o.rules.find((r) => PORTAL_CHAINS.has(r.chain) && (r.target.kind === 'redirect' || r.target.kind === 'dnat'));
  const packet = { src: src.packet.src, dst: q.dest.ip, port: q.dest.port, protocol: q.dest.protocol, from: src.from };
  const base = { mode: 'userspace', packet, balancing: null, affinity: null } as const;
  const stopRule = o.verdict === 'ACCEPT' ? undefined : [...o.rules].reverse().find((r) => r.target.kind === 'verdict' && r.target.verdict === o.verdict);
  const reasonOf = (r: CompiledRule | undefined): string => (r === undefined ? '' : r.comment !== '' ? `${r.comment}; ${r.chain}` : r.raw);
  if (portal !== undefined && o.verdict !== 'ACCEPT') {
    // A portal took the packet but the filter stops it: the daemon is stopped (renderParked).
    return { ...base, service: { name: portal.comment, matchedAs: matchedAs(tables, portal) }, verdict: o.verdict, reason: reasonOf(stopRule), endpoints: [], notes: [...src.notes, ...notes] };
  }
  if (portal !== undefined) {
    const t = portal.target;
    const v6 = q.dest.family === 'IPv6';
    const nodeIP = [...nodeAddrs].find((a) => sameFamily(a, v6) && !/^(127\.|::1$|fe80:)/.test(a));
    // REDIRECT: to the address of the interface the packet came in on, a node address.
    const address = t.kind === 'redirect' ? joinHostPort(nodeIP ?? (v6 ? '::1' : '127.0.0.1'), t.port) : t.kind === 'dnat' ? t.to : '';
    return {
      ...base,
      balancing: 'the daemon (round robin over its endpoints)',
      service: { name: portal.comment, matchedAs: matchedAs(tables, portal) },
      verdict: 'DNAT',
      reason: '',
      endpoints: [{
        address,
        probability: null,
        // The daemon opens its own connection to the endpoint, from this node's address.
        masquerade: 'yes, the daemon connects to the endpoint from this node',
        via: [portal.chain, `${t.kind === 'redirect' ? 'REDIRECT' : 'DNAT'} to the daemon's proxy port`],
      }],
      notes: [...src.notes, ...notes, 'relayed by the daemon to one of its endpoints; ClientIP affinity, when the Service asks, is the daemon\'s too (the rules do not show it) and its status does not list the endpoints'],
    };
  }
  if (o.verdict !== 'ACCEPT') {
    return { ...base, service: serviceOf(o.rules), verdict: o.verdict, reason: reasonOf(stopRule), endpoints: [], notes: [...src.notes, ...notes] };
  }
  return {
    ...base, service: null, verdict: 'NO_SERVICE', reason: `no portal matches ${q.dest.protocol} port ${q.dest.port} on ${q.dest.ip}`, endpoints: [],
    notes: [...src.notes, ...notes, ...o.rules.filter((r) => r.unknown !== null).map((r) => `not evaluated (${r.unknown ?? ''}): ${r.raw}`)],
  };
}
