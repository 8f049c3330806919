// A small iptables interpreter over our own restore payload, modelled on upstream's
// tracePacket/runPacketFlowTests (pkg/proxy/iptables/proxier_test.go) but following the real
// netfilter path: nat PREROUTING (or OUTPUT for host-originated packets), then filter INPUT /
// FORWARD / OUTPUT by where the (possibly DNATed) destination lives, then nat POSTROUTING.
// Built-in chains get the jump rules the applier inserts (jumps.ts) unless the text declares them
// (an iptables-save of a node). Every random branch (-m statistic) is explored, so the result
// lists all possible endpoints, each with the probability of its path. Product code: `kube-proxy-ts
// trace` runs it over the live rules (trace-iptables.ts); the tests run it over rendered payloads.
// Pure.
import { kubeletJumps, requiredJumps } from '../jumps.ts';
import { parseRestore, type ParsedTable, tokenize } from './restore-parse.ts';
import { compileRule, compileRuleLenient, type CompiledRule, type MatchEnv, type TracePacketState } from './rule-compile.ts';
import ipaddr from 'ipaddr.js';

export interface TracePacket {
  readonly src: string;
  readonly dst: string;
  readonly protocol?: 'tcp' | 'udp' | 'sctp';
  readonly dport: number;
  /** 'host': generated on this node (nat OUTPUT); 'remote': arrives from a pod or another host (PREROUTING). */
  readonly origin: 'host' | 'remote';
  readonly inInterface?: string;
  /** Bridged in from a pod on this node (`-m physdev --physdev-is-in`). */
  readonly bridged?: boolean;
}

export interface TraceEnv {
  /** This node's addresses (addrtype LOCAL); 127.0.0.0/8 and ::1 are always local. */
  readonly localAddresses: readonly string[];
  /** xt_recent lists: list name -> source IPs seen (session affinity state). */
  readonly recent?: ReadonlyMap<string, ReadonlySet<string>>;
  /** ipset membership (`-m set --match-set`); absent, such rules never match. */
  readonly setHas?: MatchEnv['setHas'];
}

export interface TraceOutcome {
  readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  /** `ip:port` when DNATed. */
  readonly dnat: string | null;
  /** KUBE-MARK-MASQ set the masquerade bit (what upstream's tracer reports as masq). */
  readonly marked: boolean;
  /** MASQUERADE ran in POSTROUTING. */
  readonly masqueraded: boolean;
  /** xt_recent lists the source was added to. */
  readonly recentSet: readonly string[];
  /** Chain whose explicit ACCEPT decided the filter verdict, if any. */
  readonly acceptedBy: string | null;
  readonly matched: readonly string[];
  /** The rules that matched, in order (their chains and comments tell the operator why). */
  readonly rules: readonly CompiledRule[];
  /** The chance of this path: the product of the statistic matches taken and not taken. */
  readonly probability: number;
}

export interface TraceResult {
  readonly outcomes: readonly TraceOutcome[];
  /** Upstream's output string: DNAT targets / REJECT / DROP, unique, comma-joined ('' when untouched). */
  readonly output: string;
  /** Any path marked for masquerade (upstream's masq). */
  readonly masq: boolean;
}

export type Tables = Map<string, Map<string, CompiledRule[]>>;

export interface CompileOptions {
  /**
   * A live node's rules hold other components' rules too (kubelet, CNI, Docker): rules the tracer
   * does not understand are kept as never-matching (CompiledRule.unknown) instead of failing.
   */
  readonly lenient?: boolean;
}

const BUILTINS: Record<string, readonly string[]> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Compile a payload (plus the applier's built-in jumps) once; trace many packets against it. */
export function compileRuleset(payload: string, opts: CompileOptions = {}): Tables {
  const parsed = parseRestore(payload);
  const tables: Tables = new Map();
  const compile = opts.lenient === true ? compileRuleLenient : compileRule;
  for (const name of ['nat', 'filter']) {
    const t: ParsedTable = parsed.get(name) ?? { name, chains: new Map(), deleted: [] };
    const out = new Map<string, CompiledRule[]>();
    for (const [c, chain] of t.chains) {
      const rules = chain.rules.map(compile);
      // A built-in chain's DROP policy (filter FORWARD on many hosts) is its last rule.
      if (chain.policy === 'DROP') rules.push(compileRule({ chain: c, args: ['-j', 'DROP'], raw: `:${c} DROP (policy)` }));
      out.set(c, rules);
    }
    for (const b of BUILTINS[name] ?? []) {
      if (out.has(b)) continue;
      // Each jump is inserted at position 1, so the last one ensured comes first.
      const rules: CompiledRule[] = [];
      for (const j of [...requiredJumps(), ...kubeletJumps()]) {
        if (j.table !== name || j.chain !== b || !out.has(j.target)) continue;
        const raw = `-A ${b} ${j.args.map((x) => (x.includes(' ') ? `"${x}"` : x)).join(' ')}`;
        rules.unshift(compileRule({ chain: b, args: tokenize(raw).slice(2), raw }));
      }
      out.set(b, rules);
    }
    tables.set(name, out);
  }
  return tables;
}

interface PathState extends TracePacketState {
  verdict: 'ACCEPT' | 'DROP' | 'REJECT' | null;
  masqueraded: boolean;
  marked: boolean;
  acceptedBy: string | null;
  recentSet: string[];
  matched: string[];
  rules: CompiledRule[];
}

type Flow = 'continue' | 'return' | 'terminal';

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

export function tracePacket(ruleset: string | Tables, packet: TracePacket, env: TraceEnv, masqueradeMark = 0x4000): TraceResult {
  const tables = typeof ruleset === 'string' ? compileRuleset(ruleset) : ruleset;
  const local = new Set<string>();
  for (const a of env.localAddresses) local.add(ipaddr.isValid(a) ? ipaddr.parse(a).toString() : a);
  const isLocal = (ip: string): boolean => isLoopback(ip) || (ipaddr.isValid(ip) && local.has(ipaddr.parse(ip).toString()));
  const outcomes: TraceOutcome[] = [];

  let prefix: boolean[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const choices: boolean[] = [];
    let probability = 1;
    const menv: MatchEnv = {
      isLocal,
      recentHas: (name, src) => env.recent?.get(name)?.has(src) ?? false,
      ...(env.setHas === undefined ? {} : { setHas: env.setHas }),
      choose: (pr) => {
        const c = choices.length < prefix.length ? (prefix[choices.length] as boolean) : true;
        choices.push(c);
        probability *= c ? pr : 1 - pr;
        return c;
      },
    };
    const o = runPath(tables, packet, menv, masqueradeMark);
    outcomes.push({ ...o, probability });
    // Depth-first over choice sequences, matching branches first (so outcomes follow rule
    // order): flip the last 'true' to 'false'.
    let i = choices.length - 1;
    while (i >= 0 && choices[i] === false) i--;
    if (i < 0) break;
    prefix = [...choices.slice(0, i), false];
  }

  const out: string[] = [];
  for (const o of outcomes) {
    const s = o.verdict !== 'ACCEPT' ? o.verdict : (o.dnat ?? '');
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  return { outcomes, output: out.join(', '), masq: outcomes.some((o) => o.marked) };
}

function runPath(tables: Tables, packet: TracePacket, env: MatchEnv, masqMark: number): Omit<TraceOutcome, 'probability'> {
  const p: PathState = {
    src: packet.src, dst: packet.dst, protocol: packet.protocol ?? 'tcp', dport: packet.dport,
    inInterface: packet.inInterface ?? (packet.origin === 'host' ? 'lo' : 'eth0'), bridged: packet.bridged === true,
    mark: 0, dnat: null, verdict: null, masqueraded: false, marked: false, acceptedBy: null, recentSet: [], matched: [], rules: [],
  };
  const nat = tables.get('nat') as Map<string, CompiledRule[]>;
  const filter = tables.get('filter') as Map<string, CompiledRule[]>;
  runChain(nat, packet.origin === 'host' ? 'OUTPUT' : 'PREROUTING', p, env, 0);
  const toLocal = env.isLocal(p.dst);
  const filterChains = packet.origin === 'host' ? (toLocal ? ['OUTPUT', 'INPUT'] : ['OUTPUT']) : toLocal ? ['INPUT'] : ['FORWARD'];
  for (const c of filterChains) {
    p.verdict = null;
    runChain(filter, c, p, env, 0);
    if (p.verdict === 'DROP' || p.verdict === 'REJECT') break;
  }
  // Read before POSTROUTING clears the bit.
  p.marked = (p.mark & masqMark) !== 0;
  // Locally delivered packets from elsewhere never pass POSTROUTING.
  if (p.verdict !== 'DROP' && p.verdict !== 'REJECT' && (packet.origin === 'host' || !toLocal)) runChain(nat, 'POSTROUTING', p, env, 0);
  return {
    verdict: p.verdict === 'DROP' || p.verdict === 'REJECT' ? p.verdict : 'ACCEPT',
    dnat: p.dnat, marked: p.marked, masqueraded: p.masqueraded, recentSet: p.recentSet,
    acceptedBy: p.verdict === 'ACCEPT' ? p.acceptedBy : null, matched: p.matched, rules: p.rules,
  };
}

function runChain(table: Map<string, CompiledRule[]>, chain: string, p: PathState, env: MatchEnv, depth: number): Flow {
  if (depth > 64) throw new Error(`tracer: jump loop through ${chain}`);
  const rules = table.get(chain);
  if (rules === undefined) throw new Error(`tracer: jump to missing chain ${chain}`);
  for (const r of rules) {
    let ok = true;
    for (const pred of r.preds) {
      if (!pred(p, env)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    p.matched.push(r.raw);
    p.rules.push(r);
    if (r.recentSets !== null) p.recentSet.push(r.recentSets);
    const t = r.target;
    switch (t.kind) {
      case 'none':
        continue;
      case 'verdict':
        if (t.verdict === 'RETURN') return 'return';
        p.verdict = t.verdict;
        if (t.verdict === 'ACCEPT') p.acceptedBy = chain;
        return 'terminal';
      case 'dnat': {
        p.dnat = t.to;
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(t.to);
        if (m !== null) {
          p.dst = m[1] as string;
          p.dport = Number(m[2]);
        }
        return 'terminal';
      }
      case 'redirect':
        // REDIRECT: to the node itself (the incoming interface's address; loopback for the
        // node's own traffic, which is local either way), port rewritten.
        p.dst = p.dst.includes(':') ? '::1' : '127.0.0.1';
        p.dport = t.port;
        p.dnat = p.dst.includes(':') ? `[::1]:${t.port}` : `127.0.0.1:${t.port}`;
        return 'terminal';
      case 'mark':
        p.mark = (t.op === 'or' ? p.mark | t.value : t.op === 'xor' ? p.mark ^ t.value : (p.mark & ~t.mask) ^ t.value) >>> 0;
        continue;
      case 'masquerade':
        p.masqueraded = true;
        return 'terminal';
      case 'jump':
      case 'goto': {
        const f = runChain(table, t.chain, p, env, depth + 1);
        if (f === 'terminal') return 'terminal';
        if (t.kind === 'goto') return 'return';
        continue;
      }
    }
  }
  return 'return';
}
