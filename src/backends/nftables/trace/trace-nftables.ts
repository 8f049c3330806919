// `kube-proxy-ts trace` for the nftables mode: the interpreter run over `nft -j list table` of the
// family (or a saved `nft -j list ruleset`), its paths read back into a TraceReport by the names
// our chains, maps and element comments carry (render.ts, plan-port.ts; upstream's layout). Pure.
import ipaddr from 'ipaddr.js';
import { cidrContains } from '../../../model/ip.ts';
import { TraceInputError } from '../../../errors.ts';
import { EXTERNAL_CLIENT, FALLBACK_POD, podAddressIn } from '../../../trace/sample-sources.ts';
import type { TraceEndpoint, TraceQuery, TraceReport } from '../../../trace/trace-types.ts';
import { NftInterpreter, type NftFlow, type NftOutcome, type NftPacket } from './nft-interpret.ts';
import { parseNftJson, type NftRule, type NftTable } from './nft-json.ts';

export { holdsNftablesMode } from './nft-json.ts';

/** `service-HASH-ns/name/proto/port` (or external-, firewall-, endpoint-) -> `ns/name:port`. */
function serviceOfChain(chain: string): string | null {
  const m = /^(?:service|external|firewall|endpoint)-[A-Z0-9]{8}-([^/]+)\/([^/]+)\/[a-z]+\/([^_]+)/.exec(chain);
  return m === null ? null : `${m[1] as string}/${m[2] as string}:${m[3] as string}`;
}

/** The cluster CIDR in the local detector's `ip saddr != CIDR` (services chain's masquerade rule). */
function clusterCidr(t: NftTable): string | null {
  for (const r of t.chains.get('services')?.rules ?? []) {
    for (const e of r.expr) {
      const m = (e as { match?: { op?: string; right?: { prefix?: { addr: string; len: number } } } } | null)?.match;
      if (m?.op === '!=' && m.right?.prefix !== undefined) return `${m.right.prefix.addr}/${m.right.prefix.len}`;
    }
  }
  return null;
}

/** The ServiceCIDRs of cluster-ips-check's drop rule (`ip daddr { CIDR, ... } drop`). */
function serviceCidrs(t: NftTable): string[] {
  const out: string[] = [];
  const walk = (e: unknown): void => {
    if (Array.isArray(e)) e.forEach(walk);
    else if (typeof e === 'object' && e !== null) {
      const p = (e as { prefix?: { addr: string; len: number } }).prefix;
      if (p !== undefined) out.push(`${p.addr}/${p.len}`);
      else Object.values(e).forEach(walk);
    }
  };
  for (const r of t.chains.get('cluster-ips-check')?.rules ?? []) walk(r.expr);
  return out;
}

function source(t: NftTable, q: TraceQuery, local: (ip: string) => boolean): { packet: NftPacket; from: string; notes: string[] } {
  const base = { dst: q.dest.ip, port: q.dest.port, protocol: q.dest.protocol } as const;
  const f = q.from;
  if (f.kind === 'external') return { packet: { ...base, src: EXTERNAL_CLIENT[q.dest.family], fromNode: false }, from: 'external', notes: [] };
  if (f.kind === 'ip') return { packet: { ...base, src: f.ip, fromNode: local(f.ip) }, from: local(f.ip) ? 'node' : 'the given address', notes: [] };
  if (f.kind === 'node') {
    const ip = q.nodeAddresses.find((a) => ipaddr.isValid(a) && (ipaddr.parse(a).kind() === 'ipv4') === (q.dest.family === 'IPv4'));
    if (ip === undefined) throw new TraceInputError(`--from node: no ${q.dest.family} address of this node is known${q.saved ? ' (give --node-ip with --state)' : ''}`);
    return { packet: { ...base, src: ip, fromNode: true }, from: 'node', notes: [] };
  }
  const cidr = clusterCidr(t);
  const pod = cidr === null ? null : podAddressIn(cidr);
  if (pod !== null) return { packet: { ...base, src: pod, fromNode: false }, from: `pod (cluster CIDR ${cidr ?? ''})`, notes: [] };
  return { packet: { ...base, src: FALLBACK_POD[q.dest.family], fromNode: false }, from: 'pod', notes: ['the rules name no cluster CIDR; the pod address is a guess'] };
}

function explainMasquerade(f: NftFlow, cidr: string | null): string {
  const r = f.masqRule;
  if (r === null) return 'yes';
  if (r.chain === 'masquerading') return 'yes, hairpin (the endpoint connects to itself through the Service)';
  if (r.chain === 'services') return cidr !== null && r.comment.includes('outside cluster') ? `yes, the source is outside the cluster CIDR ${cidr}` : `yes, ${r.comment || 'masqueradeAll'}`;
  if (r.chain.startsWith('external-')) {
    if (r.comment.includes('local traffic')) return 'yes, node-originated traffic to an external address';
    return 'yes, external traffic with externalTrafficPolicy Cluster (replies must return through this node)';
  }
  return `yes (${r.comment || r.chain})`;
}

function endpoints(outcomes: readonly NftOutcome[], cidr: string | null): TraceEndpoint[] {
  const by = new Map<string, { probability: number; masquerade: string | null; via: string[] }>();
  for (const o of outcomes) {
    if (o.end !== 'accept' || o.flow.dnat === null) continue;
    const via = [...new Set(o.flow.path.filter((c) => /^(service|external|firewall|endpoint)-[A-Z0-9]{8}-/.test(c)))];
    const prev = by.get(o.flow.dnat);
    if (prev === undefined) by.set(o.flow.dnat, { probability: o.flow.probability, masquerade: o.flow.masq ? explainMasquerade(o.flow, cidr) : null, via });
    else prev.probability += o.flow.probability;
  }
  return [...by].map(([address, e]) => ({ address, probability: e.probability, masquerade: e.masquerade, via: e.via }));
}

function serviceName(outcomes: readonly NftOutcome[]): string | null {
  for (const o of outcomes) {
    for (const c of o.flow.path) {
      const s = serviceOfChain(c);
      if (s !== null) return s;
    }
    const comment = o.flow.matched?.comment ?? '';
    if (/^[^\s/]+\/\S+$/.test(comment)) return comment;
  }
  return null;
}

function addressKind(t: NftTable, dst: string, map: string): string {
  if (map === 'service-nodeports' || map === 'no-endpoint-nodeports') return 'node port';
  const inSet = (name: string): boolean => (t.sets.get(name)?.elements ?? []).some((e) => typeof e === 'string' && ipaddr.isValid(e) && ipaddr.parse(e).toString() === dst);
  if (inSet('cluster-ips')) return 'cluster IP';
  const fw = t.sets.get('firewall-ips')?.elements ?? [];
  if (fw.some((e) => JSON.stringify(e).includes(`"${dst}"`))) return 'loadbalancer IP';
  return 'external IP';
}

function affinity(t: NftTable, outcomes: readonly NftOutcome[]): TraceReport['affinity'] {
  for (const o of outcomes) for (const s of o.flow.affinitySets) {
    const set = t.sets.get(s);
    if (set?.timeout != null) return { kind: 'ClientIP', timeoutSeconds: set.timeout };
  }
  return null;
}

function reasonOf(rule: NftRule | null, f: NftFlow): string {
  if (f.matched !== null && /^no-endpoint-/.test(f.matched.map)) {
    // The renderer drops where a Local policy has no local endpoint, rejects where there are none.
    const why = rule?.chain === 'reject-chain' ? 'has no endpoints' : 'has no local endpoints (traffic policy Local)';
    return `${f.matched.comment !== '' ? `${f.matched.comment} ` : ''}${why}; @${f.matched.map}`;
  }
  if (rule === null) return '';
  if (rule.chain.startsWith('firewall-')) return `source not in loadBalancerSourceRanges; ${rule.chain}`;
  return rule.comment !== '' ? `${rule.comment}; ${rule.chain}` : rule.chain;
}

export function traceNftables(text: string, q: TraceQuery): TraceReport {
  const family = q.dest.family === 'IPv6' ? 'ip6' : 'ip';
  const table = parseNftJson(text, family);
  if (table === null) throw new TraceInputError(`no nftables-mode rules: the dump has no table ${family} kube-proxy`);
  const nodeAddrs = new Set(q.nodeAddresses.filter((a) => ipaddr.isValid(a)).map((a) => ipaddr.parse(a).toString()));
  const notes: string[] = [];
  const dst = ipaddr.parse(q.dest.ip).toString();
  // A saved dump says nothing of the node's addresses: a DEST no Service address names is taken as
  // one (a NodePort question), as the iptables trace does.
  const named = ['service-ips', 'no-endpoint-services', 'cluster-ips'].some((s) => JSON.stringify(table.sets.get(s)?.elements ?? []).includes(`"${dst}"`))
    || serviceCidrs(table).some((c) => cidrContains(c, dst));
  if (q.saved && !named && !nodeAddrs.has(dst)) {
    nodeAddrs.add(dst);
    notes.push(`${dst} is taken as an address of the dumped node (no Service address names it)`);
  }
  const local = (ip: string): boolean => ipaddr.isValid(ip) && nodeAddrs.has(ipaddr.parse(ip).toString());
  const src = source(table, q, local);
  const interp = new NftInterpreter(table, [...nodeAddrs]);
  const outcomes = interp.run(src.packet);
  const cidr = clusterCidr(table);
  const eps = endpoints(outcomes, cidr);
  const name = serviceName(outcomes);
  const first = outcomes.find((o) => o.flow.matched !== null) ?? outcomes[0];
  const service = name === null || first === undefined ? null : { name, matchedAs: addressKind(table, dst, first.flow.matched?.map ?? '') };
  const stopped = outcomes.find((o) => o.end !== 'accept');
  let verdict: TraceReport['verdict'];
  let reason = '';
  if (eps.length > 0) {
    verdict = 'DNAT';
    const blocked = outcomes.filter((o) => o.end !== 'accept').reduce((s, o) => s + o.flow.probability, 0);
    if (blocked > 0) notes.push(`${(blocked * 100).toFixed(1)}% of new connections are ${stopped?.end.toUpperCase() ?? ''} instead`);
  } else if (stopped !== undefined) {
    verdict = stopped.end === 'reject' ? 'REJECT' : 'DROP';
    reason = reasonOf(stopped.rule, stopped.flow);
  } else {
    verdict = 'NO_SERVICE';
    reason = service === null ? `no rule of ours matches ${q.dest.protocol} port ${q.dest.port} on ${q.dest.ip}` : `${service.name} matched but nothing rewrote the packet`;
  }
  const stuck = outcomes.find((o) => o.flow.stuckIn !== null)?.flow.stuckIn;
  if (stuck != null) notes.push(`the source is in ${stuck} (ClientIP affinity): its new connections go to that endpoint until the entry expires`);
  if (eps.some((e) => e.via.some((c) => c.startsWith('external-'))) && eps.every((e) => !e.via.some((c) => c.startsWith('service-')))) {
    notes.push('external traffic goes to this node\'s endpoints only (traffic policy Local)');
  }
  return {
    mode: 'nftables',
    packet: { src: src.packet.src, dst: q.dest.ip, port: q.dest.port, protocol: q.dest.protocol, from: src.from },
    service,
    verdict,
    reason: verdict === 'DNAT' ? '' : reason,
    endpoints: eps,
    balancing: eps.length > 1 ? 'random (nftables numgen)' : null,
    affinity: eps.length > 0 ? affinity(table, outcomes) : null,
    notes: [...src.notes, ...notes, ...[...interp.skipped].map((s) => `not evaluated: ${s}`)],
  };
}
