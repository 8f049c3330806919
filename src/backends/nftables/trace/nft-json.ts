// `nft -j list table ip|ip6 kube-proxy` (or a whole `nft -j list ruleset`) read into the table
// `kube-proxy-ts trace` interprets: base chains with hook and priority, rules as nft's JSON
// expressions, sets and maps with their elements. Only the family asked for; other tables are
// ignored. Pure (libnftables JSON schema, libnftables-json(5)).
import { TraceInputError } from '../../../errors.ts';

/** One nft JSON expression or statement, as libnftables prints it. */
export type NftExpr = null | string | number | boolean | NftExpr[] | { readonly [key: string]: NftExpr };

export interface NftRule {
  readonly chain: string;
  readonly expr: readonly NftExpr[];
  readonly comment: string;
}

export interface NftChain {
  readonly name: string;
  readonly hook: string | null;
  readonly prio: number;
  readonly rules: NftRule[];
}

export interface NftSet {
  readonly name: string;
  /** Set elements, or map keys (with `values` the verdict or data of each). */
  readonly elements: readonly NftExpr[];
  readonly values: readonly NftExpr[] | null;
  /** Seconds, for timeout sets (affinity). */
  readonly timeout: number | null;
}

export interface NftTable {
  readonly family: 'ip' | 'ip6';
  readonly chains: ReadonlyMap<string, NftChain>;
  readonly sets: ReadonlyMap<string, NftSet>;
}

export const TABLE = 'kube-proxy';

type Obj = Readonly<Record<string, NftExpr>>;
const isObj = (v: NftExpr | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function objects(text: string): Obj[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TraceInputError('not an nft -j dump: not JSON', { cause: err });
  }
  const list = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(list)) throw new TraceInputError('not an nft -j dump: no "nftables" array');
  return list.filter((o): o is Obj => isObj(o as NftExpr));
}

/** Whether a JSON text is an nft -j dump holding our table (either family). */
export function holdsNftablesMode(text: string): boolean {
  if (!text.trimStart().startsWith('{')) return false;
  try {
    return objects(text).some((o) => isObj(o['table']) && o['table']['name'] === TABLE);
  } catch (err) {
    void err; // not JSON: not ours
    return false;
  }
}

export function parseNftJson(text: string, family: 'ip' | 'ip6'): NftTable | null {
  const chains = new Map<string, NftChain>();
  const sets = new Map<string, NftSet>();
  let found = false;
  const ours = (o: Obj): boolean => o['family'] === family && o['table'] === TABLE;
  for (const o of objects(text)) {
    const t = o['table'];
    if (isObj(t) && t['family'] === family && t['name'] === TABLE) found = true;
    const c = o['chain'];
    if (isObj(c) && ours(c)) {
      const name = String(c['name']);
      chains.set(name, { name, hook: typeof c['hook'] === 'string' ? c['hook'] : null, prio: typeof c['prio'] === 'number' ? c['prio'] : 0, rules: chains.get(name)?.rules ?? [] });
    }
    const s = o['set'] ?? o['map'];
    if (isObj(s) && ours(s)) {
      const elem = Array.isArray(s['elem']) ? s['elem'] : [];
      const isMap = o['map'] !== undefined;
      sets.set(String(s['name']), {
        name: String(s['name']),
        elements: isMap ? elem.map((e) => (Array.isArray(e) ? (e[0] ?? null) : null)) : elem,
        values: isMap ? elem.map((e) => (Array.isArray(e) ? (e[1] ?? null) : null)) : null,
        timeout: typeof s['timeout'] === 'number' ? s['timeout'] : null,
      });
    }
    const r = o['rule'];
    if (isObj(r) && ours(r)) {
      const name = String(r['chain']);
      let chain = chains.get(name);
      if (chain === undefined) {
        chain = { name, hook: null, prio: 0, rules: [] };
        chains.set(name, chain);
      }
      chain.rules.push({ chain: name, expr: Array.isArray(r['expr']) ? r['expr'] : [], comment: typeof r['comment'] === 'string' ? r['comment'] : '' });
    }
  }
  return found ? { family, chains, sets } : null;
}
