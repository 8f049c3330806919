// A pure interpreter of the nftables table our mode writes (read from nft's JSON, nft-json.ts):
// a new connection goes through the base chains in hook and priority order, every rule's matches
// and statements evaluated (sets and verdict maps by their elements, numgen maps forked into every
// branch with its probability, affinity sets by the sources they hold, the masquerade mark, DNAT,
// masquerade, reject and drop). What it cannot evaluate (another component's expression) skips
// that rule and is reported, never guessed.
import ipaddr from 'ipaddr.js';
import { cidrContains } from '../../../model/ip.ts';
import type { NftChain, NftExpr, NftRule, NftTable } from './nft-json.ts';

export interface NftPacket {
  readonly src: string;
  readonly dst: string;
  readonly port: number;
  readonly protocol: string;
  /** Sent by the node itself (output hook) rather than arriving on an interface. */
  readonly fromNode: boolean;
}

export interface NftFlow {
  src: string;
  dst: string;
  port: number;
  readonly protocol: string;
  mark: number;
  /** `ip:port` after DNAT. */
  dnat: string | null;
  masq: boolean;
  /** The rule that set the masquerade mark (or matched the hairpin set). */
  masqRule: NftRule | null;
  probability: number;
  /** Chains entered, in order. */
  readonly path: string[];
  /** The map (and its element's comment) that sent the packet on: service-ips, no-endpoint-services... */
  matched: { readonly map: string; readonly comment: string } | null;
  /** Affinity sets updated on the way. */
  readonly affinitySets: string[];
  /** The affinity set that held the source (the connection sticks to that set's endpoint). */
  stuckIn: string | null;
}

export type NftEnd = 'fall' | 'return' | 'accept' | 'drop' | 'reject';

export interface NftOutcome {
  readonly flow: NftFlow;
  readonly end: 'accept' | 'drop' | 'reject';
  /** The rule that gave a drop or reject. */
  readonly rule: NftRule | null;
}

interface Res {
  readonly flow: NftFlow;
  readonly end: NftEnd;
  readonly rule: NftRule | null;
}

type Val = string | number | null | readonly Val[];
type Obj = Readonly<Record<string, NftExpr>>;
const isObj = (v: NftExpr | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const fork = (f: NftFlow): NftFlow => ({ ...f, path: [...f.path], affinitySets: [...f.affinitySets] });

function norm(v: Val): Val {
  if (typeof v === 'string' && ipaddr.isValid(v)) return ipaddr.parse(v).toString();
  return v;
}

const hostPort = (addr: string, port: number): string => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

class Unknown extends Error {}

export class NftInterpreter {
  readonly #t: NftTable;
  readonly #local: ReadonlySet<string>;
  /** Rules skipped because an expression is not understood. */
  readonly skipped = new Set<string>();

  constructor(table: NftTable, localAddresses: readonly string[]) {
    this.#t = table;
    this.#local = new Set(localAddresses.filter((a) => ipaddr.isValid(a)).map((a) => ipaddr.parse(a).toString()));
  }

  run(p: NftPacket): NftOutcome[] {
    const start: NftFlow = {
      src: ipaddr.parse(p.src).toString(), dst: ipaddr.parse(p.dst).toString(), port: p.port, protocol: p.protocol,
      mark: 0, dnat: null, masq: false, masqRule: null, probability: 1, path: [], matched: null, affinitySets: [], stuckIn: null,
    };
    let live: Res[] = [{ flow: start, end: 'fall', rule: null }];
    const hooks = p.fromNode ? ['output', 'routed', 'postrouting'] : ['prerouting', 'routed', 'postrouting'];
    for (const hook of hooks) {
      const next: Res[] = [];
      for (const r of live) {
        if (r.end === 'drop' || r.end === 'reject') {
          next.push(r);
          continue;
        }
        // After routing: delivered here (input) or forwarded; node-originated traffic has had its output hook.
        const h = hook !== 'routed' ? hook : p.fromNode ? null : this.#local.has(r.flow.dst) ? 'input' : 'forward';
        if (h === null) next.push(r);
        else next.push(...this.#hook(h, r.flow));
      }
      live = next;
    }
    return live.map((r) => ({ flow: r.flow, end: r.end === 'drop' || r.end === 'reject' ? r.end : 'accept', rule: r.rule }));
  }

  #hook(hook: string, flow: NftFlow): Res[] {
    const chains = [...this.#t.chains.values()].filter((c) => c.hook === hook).sort((a, b) => a.prio - b.prio);
    let live: Res[] = [{ flow, end: 'fall', rule: null }];
    for (const c of chains) {
      const next: Res[] = [];
      for (const r of live) {
        if (r.end === 'drop' || r.end === 'reject') next.push(r);
        else next.push(...this.#chain(c, r.flow, 0));
      }
      live = next;
    }
    return live;
  }

  #chain(c: NftChain, flow: NftFlow, depth: number): Res[] {
    if (depth > 32) throw new Unknown(`jump loop at ${c.name}`);
    flow.path.push(c.name);
    return this.#from(c, 0, flow, depth).map((r) => (r.end === 'return' ? { ...r, end: 'fall' } : r));
  }

  #from(c: NftChain, i: number, flow: NftFlow, depth: number): Res[] {
    for (let j = i; j < c.rules.length; j++) {
      const rule = c.rules[j] as NftRule;
      let out: Res[];
      try {
        out = this.#stmts(rule, 0, flow, depth);
      } catch (err) {
        if (!(err instanceof Unknown)) throw err;
        this.skipped.add(`${c.name}: ${err.message}`);
        continue;
      }
      if (out.length === 1 && out[0]?.end === 'fall' && out[0].flow === flow) continue;
      return out.flatMap((o) => (o.end === 'fall' ? this.#from(c, j + 1, o.flow, depth) : [o]));
    }
    return [{ flow, end: 'fall', rule: null }];
  }

  /** Statements k.. of a rule: 'fall' means the rule ended without a verdict (or did not match). */
  #stmts(rule: NftRule, k: number, flow: NftFlow, depth: number): Res[] {
    const fall: Res[] = [{ flow, end: 'fall', rule }];
    for (let s = k; s < rule.expr.length; s++) {
      const e = rule.expr[s];
      if (!isObj(e)) throw new Unknown(JSON.stringify(e));
      const [key] = Object.keys(e);
      const v = e[key as string];
      switch (key) {
        case 'match': {
          if (!isObj(v)) throw new Unknown('match');
          if (!this.#match(v, flow)) return fall;
          if (typeof v['right'] === 'string' && v['right'].startsWith('@affinity-')) flow.stuckIn = v['right'].slice(1);
          break;
        }
        case 'mangle': {
          if (!isObj(v) || !isObj(v['key']) || !isObj(v['key']['meta']) || v['key']['meta']['key'] !== 'mark') throw new Unknown(`mangle ${JSON.stringify(v)}`);
          flow.mark = Number(this.#value(v['value'] ?? null, flow)) >>> 0;
          if (flow.mark !== 0) flow.masqRule = rule;
          break;
        }
        case 'counter':
        case 'log':
          break;
        case 'set': {
          if (!isObj(v) || v['op'] !== 'update' && v['op'] !== 'add') throw new Unknown('set');
          flow.affinitySets.push(String(v['set']).replace(/^@/, ''));
          break;
        }
        case 'vmap': {
          if (!isObj(v)) throw new Unknown('vmap');
          const entries = this.#mapEntries(v['data'] ?? null);
          if (isObj(v['key']) && isObj(v['key']['numgen'])) {
            const mod = Number(v['key']['numgen']['mod']);
            return entries.flatMap(([, verdict]) => {
              const f = fork(flow);
              f.probability /= mod;
              return this.#afterVerdict(rule, s, verdict, f, depth);
            });
          }
          const keyVal = this.#value(v['key'] ?? null, flow);
          const hit = entries.find(([el]) => this.#member(keyVal, el));
          if (hit === undefined) return fall;
          const map = typeof v['data'] === 'string' ? v['data'].replace(/^@/, '') : '';
          if (map !== '') flow.matched = { map, comment: this.#elemComment(hit[0]) };
          return this.#afterVerdict(rule, s, hit[1], flow, depth);
        }
        case 'dnat': {
          if (!isObj(v)) throw new Unknown('dnat');
          return this.#dnat(rule, v, flow);
        }
        case 'masquerade':
          flow.masq = true;
          // Not after the mark (that rule cleared it): the hairpin set matched.
          flow.masqRule ??= rule;
          return [{ flow, end: 'accept', rule }];
        default:
          return this.#afterVerdict(rule, s, e, flow, depth);
      }
    }
    return fall;
  }

  /** A verdict (jump, goto, accept, drop, reject, return) at statement s; a jump goes on with s+1. */
  #afterVerdict(rule: NftRule, s: number, verdict: NftExpr, flow: NftFlow, depth: number): Res[] {
    if (!isObj(verdict)) throw new Unknown(`verdict ${JSON.stringify(verdict)}`);
    const [key] = Object.keys(verdict);
    const v = verdict[key as string];
    if (key === 'accept' || key === 'drop' || key === 'reject' || key === 'return') return [{ flow, end: key, rule }];
    if ((key === 'jump' || key === 'goto') && isObj(v)) {
      const target = this.#t.chains.get(String(v['target']));
      if (target === undefined) throw new Unknown(`no chain ${String(v['target'])}`);
      const sub = this.#chain(target, flow, depth + 1);
      if (key === 'goto') return sub.map((r) => (r.end === 'fall' ? { ...r, end: 'return' } : r));
      return sub.flatMap((r) => (r.end === 'fall' ? this.#stmts(rule, s + 1, r.flow, depth) : [r]));
    }
    throw new Unknown(`statement ${key ?? ''}`);
  }

  #dnat(rule: NftRule, v: Obj, flow: NftFlow): Res[] {
    const to = (f: NftFlow, addr: Val, port: Val): Res => {
      f.dst = String(norm(addr));
      if (port !== null) f.port = Number(port);
      f.dnat = hostPort(f.dst, f.port);
      return { flow: f, end: 'accept', rule };
    };
    const addr = v['addr'];
    if (isObj(addr) && isObj(addr['map'])) {
      const m = addr['map'];
      const entries = this.#mapEntries(m['data'] ?? null);
      const numgen = isObj(m['key']) ? m['key']['numgen'] : undefined;
      if (!isObj(numgen)) throw new Unknown('dnat map without numgen');
      const mod = Number(numgen['mod']);
      return entries.map(([, target]) => {
        const f = fork(flow);
        f.probability /= mod;
        const t = this.#value(target, f);
        return Array.isArray(t) ? to(f, t[0] ?? null, t[1] ?? null) : to(f, t as Val, null);
      });
    }
    return [to(flow, this.#value(addr ?? null, flow), v['port'] === undefined ? null : this.#value(v['port'], flow))];
  }

  #mapEntries(data: NftExpr): [NftExpr, NftExpr][] {
    if (typeof data === 'string' && data.startsWith('@')) {
      const set = this.#t.sets.get(data.slice(1));
      if (set === undefined || set.values === null) throw new Unknown(`no map ${data}`);
      return set.elements.map((el, i) => [el, set.values?.[i] ?? null]);
    }
    if (isObj(data) && Array.isArray(data['set'])) return data['set'].map((e) => (Array.isArray(e) ? [e[0] ?? null, e[1] ?? null] : [e, null]));
    throw new Unknown(`map ${JSON.stringify(data)}`);
  }

  #elemComment(el: NftExpr): string {
    return isObj(el) && isObj(el['elem']) && typeof el['elem']['comment'] === 'string' ? el['elem']['comment'] : '';
  }

  #match(m: Obj, flow: NftFlow): boolean {
    const op = m['op'];
    const left = this.#value(m['left'] ?? null, flow);
    const right = m['right'] ?? null;
    let hit: boolean;
    if (op === 'in') {
      const want = Array.isArray(right) ? right : [right];
      hit = Array.isArray(left) && want.every((w) => left.includes(w as Val));
    } else if (op === '==' || op === '!=') {
      hit = this.#member(left, right);
      if (op === '!=') hit = !hit;
    } else throw new Unknown(`match op ${String(op)}`);
    return hit;
  }

  /** Whether `v` equals `el`, lies in its prefix or range, or is one of a set's elements. */
  #member(v: Val, el: NftExpr): boolean {
    if (typeof el === 'string' && el.startsWith('@')) {
      const set = this.#t.sets.get(el.slice(1));
      if (set === undefined) throw new Unknown(`no set ${el}`);
      return set.elements.some((x) => this.#member(v, x));
    }
    if (Array.isArray(el)) return el.some((x) => this.#member(v, x));
    if (isObj(el)) {
      if (isObj(el['elem'])) return this.#member(v, el['elem']['val'] ?? null);
      if (Array.isArray(el['set'])) return el['set'].some((x) => this.#member(v, x));
      if (Array.isArray(el['concat'])) {
        const parts = el['concat'];
        return Array.isArray(v) && v.length === parts.length && parts.every((p, i) => this.#member(v[i] ?? null, p));
      }
      if (isObj(el['prefix'])) return typeof v === 'string' && ipaddr.isValid(v) && cidrContains(`${String(el['prefix']['addr'])}/${String(el['prefix']['len'])}`, v);
      if (Array.isArray(el['range'])) {
        const [lo, hi] = el['range'];
        if (typeof v === 'number') return v >= Number(lo) && v <= Number(hi);
        if (typeof v === 'string' && ipaddr.isValid(v)) {
          const n = (a: string): bigint => BigInt(`0x${ipaddr.parse(a).toByteArray().map((b) => b.toString(16).padStart(2, '0')).join('')}`);
          return n(v) >= n(String(lo)) && n(v) <= n(String(hi));
        }
        return false;
      }
      throw new Unknown(`element ${JSON.stringify(el)}`);
    }
    if (el === null) return false;
    return String(norm(v as Val)) === String(norm(el as Val));
  }

  #value(e: NftExpr, flow: NftFlow): Val {
    if (e === null || typeof e === 'string' || typeof e === 'number') return e;
    if (typeof e === 'boolean') return e ? 1 : 0;
    if (Array.isArray(e)) return e.map((x) => this.#value(x, flow));
    const [key] = Object.keys(e);
    const v = e[key as string];
    switch (key) {
      case 'payload':
        if (isObj(v)) {
          if ((v['protocol'] === 'ip' || v['protocol'] === 'ip6') && (v['field'] === 'saddr' || v['field'] === 'daddr')) {
            if (v['protocol'] !== this.#t.family) return null;
            return v['field'] === 'saddr' ? flow.src : flow.dst;
          }
          if (v['field'] === 'dport' && (v['protocol'] === 'th' || v['protocol'] === flow.protocol)) return flow.port;
        }
        break;
      case 'meta':
        if (isObj(v)) {
          if (v['key'] === 'l4proto') return flow.protocol;
          if (v['key'] === 'mark') return flow.mark;
          if (v['key'] === 'nfproto') return this.#t.family === 'ip' ? 'ipv4' : 'ipv6';
        }
        break;
      case 'ct':
        if (isObj(v)) {
          if (v['key'] === 'state') return ['new'];
          if (v['key'] === 'status') return flow.dnat !== null ? ['dnat'] : [];
        }
        break;
      case 'fib':
        if (isObj(v) && v['result'] === 'type' && Array.isArray(v['flags'])) {
          const addr = v['flags'].includes('saddr') ? flow.src : v['flags'].includes('daddr') ? flow.dst : null;
          if (addr !== null) return this.#local.has(addr) ? 'local' : 'unicast';
        }
        break;
      case 'concat':
        if (Array.isArray(v)) return v.map((x) => this.#value(x, flow));
        break;
      case '&':
      case '|':
      case '^':
        if (Array.isArray(v) && v.length === 2) {
          const a = Number(this.#value(v[0] ?? null, flow));
          const b = Number(this.#value(v[1] ?? null, flow));
          return (key === '&' ? a & b : key === '|' ? a | b : a ^ b) >>> 0;
        }
        break;
      default:
        break;
    }
    throw new Unknown(`expression ${JSON.stringify(e)}`);
  }
}
