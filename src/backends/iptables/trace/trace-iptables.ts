// `kube-proxy-ts trace` for the iptables mode: the packet tracer run over an iptables-save of the
// node (or a saved one), its paths read back into a TraceReport by the names and comments our
// rules carry (render-service.ts, render-chains.ts). Pure.
import ipaddr from 'ipaddr.js';
import { TraceInputError } from '../../../errors.ts';
import { EXTERNAL_CLIENT, FALLBACK_POD, podAddressIn } from '../../../trace/sample-sources.ts';
import type { TraceEndpoint, TraceQuery, TraceReport } from '../../../trace/trace-types.ts';
import { compileRuleset, tracePacket, type Tables, type TraceOutcome, type TracePacket } from './packet-tracer.ts';
import { RestoreParseError } from './restore-parse.ts';
import type { CompiledRule } from './rule-compile.ts';
import { explainMasquerade, serviceOf } from './trace-explain.ts';

/** Whether an iptables-save text holds the iptables mode's rules (ipvs mode shares KUBE-SERVICES). */
export function holdsIptablesMode(saved: string): boolean {
  const nat = saved.indexOf('*nat');
  return nat >= 0 && saved.includes(':KUBE-SERVICES ', nat) && saved.includes(':KUBE-NODEPORTS ', nat) && !saved.includes(':KUBE-LOAD-BALANCER ');
}

function compile(saved: string): Tables {
  try {
    return compileRuleset(saved, { lenient: true });
  } catch (err) {
    if (err instanceof RestoreParseError) throw new TraceInputError(`not an iptables-save dump: ${err.message}`, { cause: err });
    throw err;
  }
}

function natRules(tables: Tables): CompiledRule[] {
  return [...(tables.get('nat')?.values() ?? [])].flat();
}

/** The masquerade bit, from KUBE-MARK-MASQ (`--or-mark 0x4000`, saved as `--set-xmark 0x4000/0x4000`). */
function masqueradeMark(tables: Tables): number {
  const t = tables.get('nat')?.get('KUBE-MARK-MASQ')?.[0]?.target;
  return t?.kind === 'mark' && t.value !== 0 ? t.value : 0x4000;
}

interface Source {
  readonly packet: TracePacket;
  readonly from: string;
  readonly notes: string[];
}

function chooseSource(tables: Tables, q: TraceQuery, local: (ip: string) => boolean): Source {
  const base = { dst: q.dest.ip, dport: q.dest.port, protocol: q.dest.protocol } as const;
  const f = q.from;
  const notes: string[] = [];
  if (f.kind === 'external') return { packet: { ...base, src: EXTERNAL_CLIENT[q.dest.family], origin: 'remote', inInterface: 'eth0' }, from: 'external', notes };
  if (f.kind === 'ip') return { packet: { ...base, src: f.ip, origin: local(f.ip) ? 'host' : 'remote' }, from: local(f.ip) ? 'node' : 'the given address', notes };
  if (f.kind === 'node') {
    const ip = q.nodeAddresses.find((a) => ipaddr.isValid(a) && (ipaddr.parse(a).kind() === 'ipv4') === (q.dest.family === 'IPv4'));
    if (ip === undefined) throw new TraceInputError(`--from node: no ${q.dest.family} address of this node is known${q.saved ? ' (give --node-ip with --state)' : ''}`);
    return { packet: { ...base, src: ip, origin: 'host' }, from: 'node', notes };
  }
  // A pod: the cluster CIDR our masquerade rules name (`! -s CIDR -j KUBE-MARK-MASQ`), or the
  // interface prefix (`! -i veth+`) of an interface-based local detector.
  const marks = natRules(tables).filter((r) => r.chain.startsWith('KUBE-SVC-') && r.target.kind === 'jump' && r.target.chain === 'KUBE-MARK-MASQ');
  for (const r of marks) {
    const cidr = /! -s (\S+)/.exec(r.raw)?.[1];
    const src = cidr === undefined ? null : podAddressIn(cidr.includes('/') ? cidr : `${cidr}/${q.dest.family === 'IPv4' ? 32 : 128}`);
    if (src !== null && (ipaddr.parse(src).kind() === 'ipv4') === (q.dest.family === 'IPv4')) return { packet: { ...base, src, origin: 'remote', inInterface: 'eth0' }, from: `pod (cluster CIDR ${cidr})`, notes };
    const iface = /! -i (\S+)/.exec(r.raw)?.[1];
    if (iface !== undefined) {
      const name = iface.endsWith('+') ? `${iface.slice(0, -1)}trace0` : iface;
      return { packet: { ...base, src: FALLBACK_POD[q.dest.family], origin: 'remote', inInterface: name }, from: `pod (interface ${name})`, notes };
    }
  }
  notes.push('the rules name no cluster CIDR or pod interface; the pod address is a guess');
  return { packet: { ...base, src: FALLBACK_POD[q.dest.family], origin: 'remote', inInterface: 'eth0' }, from: 'pod', notes };
}

/** `[ip]:port` -> endpoint address as the operator writes it. */
const endpointOf = (o: TraceOutcome): string => o.dnat ?? '';

function endpoints(outcomes: readonly TraceOutcome[]): TraceEndpoint[] {
  const byAddress = new Map<string, { probability: number; masquerade: string | null; via: string[] }>();
  for (const o of outcomes) {
    if (o.verdict !== 'ACCEPT' || o.dnat === null) continue;
    const address = endpointOf(o);
    const via = o.rules.filter((r) => r.target.kind === 'jump' || r.target.kind === 'goto').map((r) => (r.target as { chain: string }).chain)
      .filter((c) => /^KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(c));
    const masq = o.marked ? explainMasquerade(o.rules) : null;
    const prev = byAddress.get(address);
    if (prev === undefined) byAddress.set(address, { probability: o.probability, masquerade: masq, via: [...new Set(via)] });
    else prev.probability += o.probability;
  }
  return [...byAddress].map(([address, e]) => ({ address, probability: e.probability, masquerade: e.masquerade, via: e.via }));
}

function affinity(tables: Tables, outcomes: readonly TraceOutcome[]): TraceReport['affinity'] {
  const nat = tables.get('nat');
  for (const o of outcomes) {
    for (const r of o.rules) {
      if (r.target.kind !== 'jump' || !/^KUBE-SV[CL]-/.test(r.target.chain)) continue;
      const check = nat?.get(r.target.chain)?.find((x) => x.recentCheck !== null)?.recentCheck;
      if (check) return { kind: 'ClientIP', timeoutSeconds: check.seconds };
    }
  }
  return null;
}

/** Rules on the traced paths' chains the tracer could not evaluate (other components' rules). */
function unknownRules(tables: Tables, outcomes: readonly TraceOutcome[]): string[] {
  const chains = new Set(['PREROUTING', 'OUTPUT', 'INPUT', 'FORWARD', 'POSTROUTING']);
  for (const o of outcomes) for (const r of o.rules) if (r.target.kind === 'jump' || r.target.kind === 'goto') chains.add(r.target.chain);
  const out: string[] = [];
  for (const [, table] of tables) for (const c of chains) for (const r of table.get(c) ?? []) {
    if (r.unknown !== null) out.push(`not evaluated (${r.unknown}): ${r.raw}`);
    else if (r.matchSets.length > 0) out.push(`not evaluated (ipset ${r.matchSets.join(', ')} not read): ${r.raw}`);
  }
  return out;
}

export function traceIptables(saved: string, q: TraceQuery): TraceReport {
  const tables = compile(saved);
  if (!tables.get('nat')?.has('KUBE-SERVICES')) throw new TraceInputError('no iptables-mode rules: the nat table has no KUBE-SERVICES chain');
  const nodeAddrs = new Set(q.nodeAddresses.filter((a) => ipaddr.isValid(a)).map((a) => ipaddr.parse(a).toString()));
  const notes: string[] = [];
  // A saved dump says nothing of the node's addresses: a DEST no Service rule names is taken as one
  // (a NodePort question), as the operator asking about it means.
  const dashD = new RegExp(`-d ${q.dest.ip.replace(/[.]/g, '\\.')}(/\\d+)?( |$)`);
  const named = [...tables.values()].some((t) => ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES'].some((c) => (t.get(c) ?? []).some((r) => dashD.test(r.raw))));
  if (q.saved && !named && !nodeAddrs.has(q.dest.ip)) {
    nodeAddrs.add(q.dest.ip);
    notes.push(`${q.dest.ip} is taken as an address of the dumped node (no Service rule names it)`);
  }
  const local = (ip: string): boolean => ipaddr.isValid(ip) && nodeAddrs.has(ipaddr.parse(ip).toString());
  const source = chooseSource(tables, q, local);
  const result = tracePacket(tables, source.packet, { localAddresses: [...nodeAddrs] }, masqueradeMark(tables));
  const outcomes = result.outcomes;
  const service = serviceOf(outcomes.flatMap((o) => o.rules));
  const eps = endpoints(outcomes);
  const stopped = outcomes.find((o) => o.verdict !== 'ACCEPT');
  let verdict: TraceReport['verdict'];
  let reason = '';
  if (eps.length > 0) {
    verdict = 'DNAT';
    const blocked = outcomes.filter((o) => o.verdict !== 'ACCEPT').reduce((s, o) => s + o.probability, 0);
    if (blocked > 0) notes.push(`${(blocked * 100).toFixed(1)}% of new connections are ${stopped?.verdict ?? ''} instead`);
  } else if (stopped !== undefined) {
    verdict = stopped.verdict === 'REJECT' ? 'REJECT' : 'DROP';
    const rule = [...stopped.rules].reverse().find((r) => r.target.kind === 'verdict' && r.target.verdict === stopped.verdict);
    reason = rule === undefined ? '' : rule.comment !== '' ? `${rule.comment}; ${rule.chain}` : rule.raw;
  } else {
    verdict = 'NO_SERVICE';
    reason = service === null ? `no rule of ours matches ${source.packet.protocol} port ${q.dest.port} on ${q.dest.ip}` : `${service.name} matched but nothing rewrote the packet`;
  }
  const svl = eps.flatMap((e) => e.via).find((c) => c.startsWith('KUBE-SVL-'));
  if (svl !== undefined) notes.push(`${svl}: this node's endpoints only (traffic policy Local)`);
  return {
    mode: 'iptables',
    packet: { src: source.packet.src, dst: q.dest.ip, port: q.dest.port, protocol: q.dest.protocol, from: source.from },
    service,
    verdict,
    reason: verdict === 'DNAT' ? '' : reason,
    endpoints: eps,
    balancing: eps.length > 1 ? 'random (iptables statistic)' : null,
    affinity: eps.length > 0 ? affinity(tables, outcomes) : null,
    notes: [...source.notes, ...notes, ...unknownRules(tables, outcomes)],
  };
}
