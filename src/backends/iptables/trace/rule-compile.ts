// Compiles iptables rules (our restore payload, or what iptables-save prints back, whose option
// order and spelling differ: `--set --name X --mask ... --rsource`, `--set-xmark`, `--reject-with`)
// into match predicates for the packet tracer. Only the matches and targets our renderer uses are
// understood; anything else throws, so a rule the tracer cannot evaluate fails a test instead of
// being silently ignored. `kube-proxy-ts trace` compiles other components' rules leniently
// (compileRuleLenient): such a rule never matches and the trace names it. Pure.
import ipaddr from 'ipaddr.js';
import type { ParsedRule } from './restore-parse.ts';

export interface TracePacketState {
  src: string;
  dst: string;
  readonly protocol: string;
  dport: number;
  readonly inInterface: string;
  mark: number;
  dnat: string | null;
  /** Bridged in from a local pod (`-m physdev --physdev-is-in`); userspace portals tell the two apart. */
  readonly bridged?: boolean;
}

export interface MatchEnv {
  isLocal(ip: string): boolean;
  recentHas(name: string, src: string): boolean;
  /** Decide a probabilistic match (`probability` of true); the tracer explores both answers. */
  choose(probability: number): boolean;
  /**
   * `-m set --match-set NAME DIRS`: whether the packet's fields (DIRS: `src`, `dst`, `dst,dst`...)
   * are in the ipset; absent, a rule naming a set is not evaluated (the ipvs mode's trace passes
   * the sets of an `ipset save`).
   */
  setHas?(name: string, dirs: readonly ('src' | 'dst')[], p: TracePacketState): boolean;
}

type Pred = (p: TracePacketState, env: MatchEnv) => boolean;

export type Target =
  | { readonly kind: 'none' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string }
  | { readonly kind: 'verdict'; readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN' }
  | { readonly kind: 'dnat'; readonly to: string }
  | { readonly kind: 'mark'; readonly op: 'or' | 'xor' | 'set'; readonly value: number; readonly mask: number }
  | { readonly kind: 'masquerade' }
  /** `-j REDIRECT --to-ports N`: to this node's port N (the userspace mode's portals). */
  | { readonly kind: 'redirect'; readonly port: number };

export interface CompiledRule {
  readonly raw: string;
  readonly preds: readonly Pred[];
  readonly target: Target;
  /** The rule has a --probability match (so its jump is one branch among several). */
  readonly probabilistic: boolean;
  /** `-m recent --set`: the list this rule adds the source to when it matches. */
  readonly recentSets: string | null;
  /** `-m recent --rcheck`: session affinity, the list and its timeout. */
  readonly recentCheck: { readonly name: string; readonly seconds: number } | null;
  /** `-m comment --comment`, or ''. */
  readonly comment: string;
  /** The chain the rule is in. */
  readonly chain: string;
  /** Why a leniently compiled rule could not be evaluated (it never matches); null when understood. */
  readonly unknown: string | null;
  /** The ipsets its `-m set --match-set` matches name (never matching when the trace has no sets). */
  readonly matchSets: readonly string[];
}

function addrPred(value: string, field: 'src' | 'dst'): (p: TracePacketState) => boolean {
  const cidr = value.includes('/') ? ipaddr.parseCIDR(value) : ([ipaddr.parse(value), value.includes(':') ? 128 : 32] as const);
  const [net, bits] = cidr;
  return (p) => {
    const ip = p[field];
    if (!ipaddr.isValid(ip)) return false;
    const a = ipaddr.parse(ip);
    return a.kind() === net.kind() && a.match(net, bits);
  };
}

function parseMark(v: string): [number, number] {
  const [value, mask] = v.split('/');
  const val = Number(value);
  const m = mask === undefined ? 0xffffffff : Number(mask);
  if (!Number.isInteger(val) || !Number.isInteger(m)) throw new Error(`tracer: bad mark ${v}`);
  return [val >>> 0, m >>> 0];
}

const MODULES = new Set(['tcp', 'udp', 'sctp', 'comment', 'addrtype', 'mark', 'conntrack', 'statistic', 'recent', 'nfacct', 'state', 'physdev', 'set']);

export function compileRule(rule: ParsedRule): CompiledRule {
  const a = rule.args;
  const preds: Pred[] = [];
  let target: Target = { kind: 'none' };
  let probabilistic = false;
  let recentName = '';
  let recentSet = false;
  let recentRcheck = false;
  let recentSeconds = 0;
  let comment = '';
  const matchSets: string[] = [];
  const fail = (why: string): never => {
    throw new Error(`tracer: ${why} in rule: ${rule.raw}`);
  };
  for (let i = 0; i < a.length; i++) {
    let tok = a[i] as string;
    let neg = false;
    if (tok === '!') {
      neg = true;
      tok = a[++i] ?? fail('dangling !');
    }
    const val = (): string => a[++i] ?? fail(`missing value for ${tok}`);
    const add = (p: Pred): void => {
      preds.push(neg ? (pk, env) => !p(pk, env) : p);
    };
    switch (tok) {
      case '-m': {
        const m = val();
        if (!MODULES.has(m)) fail(`unknown module ${m}`);
        break;
      }
      case '--comment':
        comment = val();
        break;
      case '--nfacct-name':
      case '--mode':
        val();
        break;
      case '-s':
        add(addrPred(val(), 'src'));
        break;
      case '-d':
        add(addrPred(val(), 'dst'));
        break;
      case '-p': {
        const proto = val();
        add((p) => p.protocol === proto);
        break;
      }
      case '--dport': {
        const [lo, hi] = val().split(':').map(Number);
        if (lo === undefined || Number.isNaN(lo)) fail('bad --dport');
        const top = hi ?? lo;
        add((p) => p.dport >= (lo as number) && p.dport <= (top as number));
        break;
      }
      case '-i': {
        const name = val();
        add((p) => (name.endsWith('+') ? p.inInterface.startsWith(name.slice(0, -1)) : p.inInterface === name));
        break;
      }
      case '--src-type':
      case '--dst-type': {
        const type = val();
        if (type !== 'LOCAL') fail(`unsupported addrtype ${type}`);
        const field = tok === '--src-type' ? 'src' : 'dst';
        add((p, env) => env.isLocal(p[field]));
        break;
      }
      case '--mark': {
        const [v, m] = parseMark(val());
        add((p) => ((p.mark & m) >>> 0) === v);
        break;
      }
      case '--physdev-is-in':
        add((p) => p.bridged === true);
        break;
      case '--match-set': {
        const name = val();
        const dirs = val().split(',').map((d) => (d === 'src' ? 'src' : d === 'dst' ? 'dst' : fail(`bad --match-set flags ${d}`)));
        matchSets.push(name);
        // A set the trace was not given never matches; the trace names the rule (CompiledRule.matchSets).
        add((p, env) => env.setHas?.(name, dirs, p) ?? false);
        break;
      }
      case '--state':
      case '--ctstate': {
        const states = val().split(',');
        // Every traced packet is the first of its connection: NEW, plus DNAT once rewritten.
        add((p) => states.includes('NEW') || (states.includes('DNAT') && p.dnat !== null));
        break;
      }
      case '--probability': {
        const pr = Number(val());
        if (!(pr >= 0 && pr <= 1)) fail('bad --probability');
        probabilistic = true;
        add((_p, env) => env.choose(pr));
        break;
      }
      case '--name':
        recentName = val();
        break;
      case '--rcheck':
        // iptables-save prints --name after --rcheck: the list is resolved once the rule is read.
        recentRcheck = true;
        add((p, env) => env.recentHas(recentName, p.src));
        break;
      case '--seconds':
        recentSeconds = Number(val());
        break;
      case '--reap':
      case '--rsource':
        break;
      case '--mask': {
        // iptables-save prints the default all-ones mask; a narrower one groups clients we do not model.
        const m = val();
        if (m !== '255.255.255.255' && m !== 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff') fail(`unsupported recent --mask ${m}`);
        break;
      }
      case '--set':
        // Recorded by the tracer only when the whole rule matches.
        recentSet = true;
        break;
      case '--reject-with':
        if (target.kind !== 'verdict' || target.verdict !== 'REJECT') fail('--reject-with without REJECT');
        val();
        break;
      case '-j':
      case '-g': {
        const t = val();
        if (t === 'ACCEPT' || t === 'DROP' || t === 'REJECT' || t === 'RETURN') target = { kind: 'verdict', verdict: t };
        else if (t === 'DNAT') target = { kind: 'dnat', to: '' };
        else if (t === 'MARK') target = { kind: 'mark', op: 'or', value: 0, mask: 0 };
        else if (t === 'MASQUERADE') target = { kind: 'masquerade' };
        else if (t === 'REDIRECT') target = { kind: 'redirect', port: 0 };
        else target = { kind: tok === '-j' ? 'jump' : 'goto', chain: t };
        break;
      }
      case '--to-destination':
        if (target.kind !== 'dnat') fail('--to-destination without DNAT');
        target = { kind: 'dnat', to: val() };
        break;
      case '--or-mark':
      case '--xor-mark': {
        if (target.kind !== 'mark') fail(`${tok} without MARK`);
        const [v] = parseMark(val());
        target = { kind: 'mark', op: tok === '--or-mark' ? 'or' : 'xor', value: v, mask: 0 };
        break;
      }
      case '--set-xmark': {
        if (target.kind !== 'mark') fail('--set-xmark without MARK');
        const [v, m] = parseMark(val());
        target = { kind: 'mark', op: 'set', value: v, mask: m };
        break;
      }
      case '--to-ports': {
        if (target.kind !== 'redirect') fail('--to-ports without REDIRECT');
        const port = Number(val());
        if (!Number.isInteger(port)) fail('bad --to-ports');
        target = { kind: 'redirect', port };
        break;
      }
      case '--random-fully':
        break;
      default:
        fail(`unsupported option ${tok}`);
    }
  }
  return {
    raw: rule.raw, preds, target, probabilistic, comment, chain: rule.chain, unknown: null, matchSets,
    recentSets: recentSet ? recentName : null,
    recentCheck: recentRcheck ? { name: recentName, seconds: recentSeconds } : null,
  };
}

/** A rule of another component the tracer does not understand: kept, never matching, named. */
export function compileRuleLenient(rule: ParsedRule): CompiledRule {
  try {
    return compileRule(rule);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/ in rule: .*$/, '').replace(/^tracer: /, '') : String(err);
    return {
      raw: rule.raw, preds: [() => false], target: { kind: 'none' }, probabilistic: false, comment: '', chain: rule.chain,
      unknown: reason, recentSets: null, recentCheck: null, matchSets: [],
    };
  }
}
