// `kube-proxy-ts trace` for the ipvs mode, following the kernel's order: nat PREROUTING / OUTPUT
// (the ipvs mode's KUBE-SERVICES: set matches that only mark for masquerade and ACCEPT), filter
// INPUT (KUBE-PROXY-FIREWALL source ranges, KUBE-IPVS-FILTER), then IPVS at LOCAL_IN: the virtual
// server for the destination picks a real server by its scheduler, and POSTROUTING masquerades
// what KUBE-MARK-MASQ marked. The iptables interpreter runs the rules, with set membership from the
// state's `ipset save`. Upstream: pkg/proxy/ipvs/proxier.go (writeIptablesRules, syncService). Pure.
import ipaddr from 'ipaddr.js';
import { TraceInputError } from '../../../errors.ts';
import { joinHostPort } from '../../../model/ip.ts';
import { EXTERNAL_CLIENT, FALLBACK_POD, podAddressIn } from '../../../trace/sample-sources.ts';
import type { TraceEndpoint, TraceQuery, TraceReport } from '../../../trace/trace-types.ts';
import { compileRuleset, tracePacket, type Tables, type TracePacket } from '../../iptables/trace/packet-tracer.ts';
import { RestoreParseError } from '../../iptables/trace/restore-parse.ts';
import type { CompiledRule } from '../../iptables/trace/rule-compile.ts';
import { explainMasquerade } from '../../iptables/trace/trace-explain.ts';
import { parseIpsetSave, setMembership } from './ipset-save.ts';
import { parseIpvsTraceState, type TraceVirtualServer } from './ipvs-trace-state.ts';

const PERSISTENT = 0x1;
/** Schedulers whose choice is a weight share over time (rr, wrr); the others decide by load or hash. */
const WEIGHTED = new Set(['rr', 'wrr']);

function compile(saved: string): Tables {
  try {
    return compileRuleset(saved, { lenient: true });
  } catch (err) {
    if (err instanceof RestoreParseError) throw new TraceInputError(`ipvs trace state: "iptablesSave" is not an iptables-save dump: ${err.message}`, { cause: err });
    throw err;
  }
}

const sameIP = (a: string, b: string): boolean => ipaddr.isValid(a) && ipaddr.isValid(b) && ipaddr.parse(a).toString() === ipaddr.parse(b).toString();
const v6Of = (a: string): boolean => ipaddr.isValid(a) && ipaddr.parse(a).kind() === 'ipv6';

function source(tables: Tables, q: TraceQuery, isLocal: (ip: string) => boolean): { packet: TracePacket; from: string; notes: string[] } {
  const base = { dst: q.dest.ip, dport: q.dest.port, protocol: q.dest.protocol } as const;
  const v6 = q.dest.family === 'IPv6';
  const f = q.from;
  if (f.kind === 'external') return { packet: { ...base, src: EXTERNAL_CLIENT[q.dest.family], origin: 'remote' }, from: 'external', notes: [] };
  if (f.kind === 'ip') return { packet: { ...base, src: f.ip, origin: isLocal(f.ip) ? 'host' : 'remote' }, from: isLocal(f.ip) ? 'node' : 'the given address', notes: [] };
  if (f.kind === 'node') {
    const ip = q.nodeAddresses.find((a) => v6Of(a) === v6 && !/^(127\.|::1$)/.test(a));
    if (ip === undefined) throw new TraceInputError(`--from node: no ${q.dest.family} address of this node is known${q.saved ? ' (give --node-ip with --state)' : ''}`);
    return { packet: { ...base, src: ip, origin: 'host' }, from: 'node', notes: [] };
  }
  // A pod: the cluster CIDR of the masquerade rule (`! -s CIDR ... -j KUBE-MARK-MASQ`).
  for (const r of tables.get('nat')?.get('KUBE-SERVICES') ?? []) {
    const cidr = r.target.kind === 'jump' && r.target.chain === 'KUBE-MARK-MASQ' ? /! -s (\S+)/.exec(r.raw)?.[1] : undefined;
    const src = cidr === undefined ? null : podAddressIn(cidr);
    if (src !== null && v6Of(src) === v6) return { packet: { ...base, src, origin: 'remote' }, from: `pod (cluster CIDR ${cidr ?? ''})`, notes: [] };
  }
  return { packet: { ...base, src: FALLBACK_POD[q.dest.family], origin: 'remote' }, from: 'pod', notes: ['the rules name no cluster CIDR; the pod address is a guess'] };
}

/** Why a traced path was stopped in filter: the rule's comment, or the set rule itself. */
function reasonOf(r: CompiledRule | undefined): string {
  if (r === undefined) return '';
  if (r.chain === 'KUBE-SOURCE-RANGES-FIREWALL') return 'the source is not in loadBalancerSourceRanges; KUBE-SOURCE-RANGES-FIREWALL';
  return r.comment !== '' ? `${r.comment}; ${r.chain}` : `${r.chain}: ${r.raw.replace(/^-A \S+ /, '')}`;
}

/**
 * KUBE-POSTROUTING masquerades a hairpin (a real server reached from itself) by the KUBE-LOOP-BACK
 * set (`dst,dst,src`); IPVS rewrites the destination after the nat rules ran, so it is checked per
 * real server here.
 */
function hairpin(has: ReturnType<typeof setMembership>, q: TraceQuery, src: string, r: { address: string; port: number }): boolean {
  const set = q.dest.family === 'IPv6' ? 'KUBE-6-LOOP-BACK' : 'KUBE-LOOP-BACK';
  return has(set, ['dst', 'dst', 'src'], { src, dst: r.address, dport: r.port, protocol: q.dest.protocol, inInterface: '', mark: 0, dnat: null });
}

function endpointsOf(vs: TraceVirtualServer, masquerade: string | null, isHairpin: (r: { address: string; port: number }) => boolean): TraceEndpoint[] {
  const total = vs.realServers.reduce((s, r) => s + r.weight, 0);
  const via = [`virtual server ${joinHostPort(vs.address, vs.port)}/${vs.protocol} (${vs.scheduler})`];
  // The dump lists real servers in the kernel's hash order: by address, as an operator compares them.
  const sorted = [...vs.realServers].sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
  return sorted.map((r) => ({
    address: joinHostPort(r.address, r.port),
    probability: WEIGHTED.has(vs.scheduler) ? (total === 0 ? 0 : r.weight / total) : null,
    masquerade: masquerade ?? (isHairpin(r) ? 'yes, hairpin (the real server connects to itself through the Service; KUBE-LOOP-BACK)' : null),
    via,
  }));
}

export function traceIpvs(text: string, q: TraceQuery): TraceReport {
  const state = parseIpvsTraceState(text);
  const tables = compile(state.iptablesSave);
  if (!tables.get('nat')?.has('KUBE-SERVICES')) throw new TraceInputError('ipvs trace state: the nat table has no KUBE-SERVICES chain');
  const proto = q.dest.protocol.toUpperCase();
  const vs = state.virtualServers.find((s) => s.protocol === proto && s.port === q.dest.port && sameIP(s.address, q.dest.ip));
  // kube-ipvs0 holds every virtual server's address: they are all local, as the node's own are.
  const local = [...q.nodeAddresses, ...state.virtualServers.map((s) => s.address)];
  const notes: string[] = [];
  const isLocal = (ip: string): boolean => local.some((a) => sameIP(a, ip));
  const src = source(tables, q, isLocal);
  const sets = parseIpsetSave(state.ipsetSave);
  const has = setMembership(sets);
  const [o] = tracePacket(tables, src.packet, { localAddresses: local, setHas: has }).outcomes;
  if (o === undefined) throw new Error('tracer: no path');
  const packet = { src: src.packet.src, dst: q.dest.ip, port: q.dest.port, protocol: q.dest.protocol, from: src.from };
  const service = vs === undefined ? null : { name: `virtual server ${joinHostPort(vs.address, vs.port)}/${vs.protocol}`, matchedAs: matchedAs(sets, q, vs) };
  const base = { mode: 'ipvs', packet, service, notes: [...src.notes, ...notes] } as const;
  if (o.verdict !== 'ACCEPT') {
    const rule = [...o.rules].reverse().find((r) => r.target.kind === 'verdict' && r.target.verdict === o.verdict);
    return { ...base, verdict: o.verdict, reason: reasonOf(rule), endpoints: [], balancing: null, affinity: null };
  }
  if (vs === undefined) {
    return { ...base, verdict: 'NO_SERVICE', reason: `no virtual server is ${q.dest.protocol} ${joinHostPort(q.dest.ip, q.dest.port)}`, endpoints: [], balancing: null, affinity: null };
  }
  const affinity = (vs.flags & PERSISTENT) !== 0 ? { kind: 'ClientIP' as const, timeoutSeconds: vs.timeout } : null;
  if (vs.realServers.length === 0) {
    // IPVS finds no real server and lets the packet through to the node, where nothing listens.
    return { ...base, verdict: 'REJECT', reason: 'the virtual server has no real servers (the node refuses the connection)', endpoints: [], balancing: null, affinity };
  }
  const eps = endpointsOf(vs, o.marked ? masqueradeWhy(o.rules) : null, (r) => hairpin(has, q, src.packet.src, r));
  if (eps.every((e) => e.probability === 0)) notes.push('every real server has weight 0 (terminating): only existing connections use them');
  return { ...base, notes: [...base.notes, ...notes], verdict: 'DNAT', reason: '', endpoints: eps, balancing: `IPVS scheduler ${vs.scheduler}`, affinity };
}

/** Why KUBE-MARK-MASQ was reached: the ipvs mode's set rules say it in their comments (upstream's). */
function masqueradeWhy(rules: readonly CompiledRule[]): string {
  const r = rules.find((x) => x.target.kind === 'jump' && x.target.chain === 'KUBE-MARK-MASQ');
  if (r?.chain === 'KUBE-LOAD-BALANCER') return 'yes, external traffic to a load-balancer IP (externalTrafficPolicy Cluster)';
  if (r !== undefined && r.comment !== '' && !/! -s /.test(r.raw)) return `yes, ${r.comment}`;
  return explainMasquerade(rules);
}

/** How the destination is known to the rules: the ipset that holds it (upstream's set names). */
function matchedAs(sets: ReturnType<typeof parseIpsetSave>, q: TraceQuery, vs: TraceVirtualServer): string {
  const entry = `${q.dest.ip},${q.dest.protocol}:${q.dest.port}`;
  const holds = (base: string): boolean => [base, base.replace(/^KUBE-/, 'KUBE-6-')].some((n) => sets.get(n)?.members.some((m) => m === entry || m === `${vs.address},${q.dest.protocol}:${vs.port}`) === true);
  if (holds('KUBE-CLUSTER-IP')) return 'cluster IP';
  if (holds('KUBE-LOAD-BALANCER')) return 'loadbalancer IP';
  if (holds('KUBE-EXTERNAL-IP')) return 'external IP';
  const np = `KUBE-NODE-PORT-${q.dest.protocol.toUpperCase()}`;
  if ([np, np.replace(/^KUBE-/, 'KUBE-6-')].some((n) => sets.get(n)?.members.includes(String(q.dest.port)) === true)) return 'node port';
  return 'virtual server';
}
