// Test-only: an in-memory kube-proxy table that applies the transactions the renderer writes
// (the subset of nft syntax it uses) and dumps the result as knftables' Fake.Dump() does, so
// goldens compare the table a sequence of syncs leaves, as upstream's tests do. The packet
// tracer reads the same object.
export interface FakeChain {
  spec: string;
  rules: string[];
}

export interface FakeContainer {
  readonly kind: 'set' | 'map';
  spec: string;
  /** key -> what follows the key inside braces ('' for sets). */
  readonly elements: Map<string, string>;
}

/** Split `a , b , c` at top level (outside quotes and braces). */
export function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '{') depth++;
    else if (!quoted && ch === '}') depth--;
    else if (!quoted && depth === 0 && ch === ',') {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
}

/** `key comment "x" : verdict` -> [key, tail]. */
function splitElement(e: string): [string, string] {
  const c = e.indexOf(' comment "');
  const colon = e.indexOf(' : ');
  const cut = c >= 0 ? c : colon;
  return cut < 0 ? [e, ''] : [e.slice(0, cut), e.slice(cut)];
}

export class FakeTable {
  family = '';
  exists = false;
  tableSpec = '';
  readonly chains = new Map<string, FakeChain>();
  readonly containers = new Map<string, FakeContainer>();

  /** Apply one transaction; throws (leaving the table unchanged) on what nft would refuse. */
  apply(text: string): void {
    const snapshot = this.#snapshot();
    try {
      for (const line of text.split('\n')) if (line.trim() !== '') this.#line(line.trim());
    } catch (err) {
      this.#restore(snapshot);
      throw err;
    }
  }

  #line(line: string): void {
    const m = /^(add|flush|delete) (table|chain|rule|set|map|element) (ip6?) kube-proxy ?(\S*) ?(.*)$/.exec(line);
    if (m === null) throw new Error(`unsupported line: ${line}`);
    const [, verb, type, family, name = '', rest = ''] = m;
    this.family = family as string;
    if (type === 'table') {
      if (verb === 'add') {
        this.exists = true;
        if (name !== '') this.tableSpec = `${name} ${rest}`.trim();
      } else if (verb === 'delete') this.#clear();
      return;
    }
    if (!this.exists) throw new Error(`no table: ${line}`);
    const chain = this.chains.get(name);
    const cont = this.containers.get(name);
    switch (`${verb} ${type}`) {
      case 'add chain':
        if (chain === undefined) this.chains.set(name, { spec: rest, rules: [] });
        return;
      case 'flush chain':
        if (chain === undefined) throw new Error(`flush of missing chain ${name}`);
        chain.rules = [];
        return;
      case 'delete chain':
        if (chain === undefined) throw new Error(`delete of missing chain ${name}`);
        for (const [other, c] of this.chains) {
          if (other !== name && c.rules.some((r) => new RegExp(`(goto|jump) ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`).test(r))) {
            throw new Error(`delete of chain ${name} still referenced from ${other}`);
          }
        }
        this.chains.delete(name);
        return;
      case 'add rule':
        if (chain === undefined) throw new Error(`rule in missing chain ${name}`);
        chain.rules.push(rest);
        return;
      case 'add set':
      case 'add map':
        if (cont === undefined) this.containers.set(name, { kind: type as 'set' | 'map', spec: rest, elements: new Map() });
        return;
      case 'flush set':
      case 'flush map':
        if (cont === undefined) throw new Error(`flush of missing ${type} ${name}`);
        cont.elements.clear();
        return;
      case 'delete set':
      case 'delete map':
        if (cont === undefined) throw new Error(`delete of missing ${type} ${name}`);
        this.containers.delete(name);
        return;
      case 'add element':
      case 'delete element': {
        if (cont === undefined) throw new Error(`element of missing container ${name}`);
        const body = /^\{ (.*) \}$/.exec(rest)?.[1];
        if (body === undefined) throw new Error(`bad element list: ${line}`);
        for (const e of splitTop(body)) {
          const [k, tail] = splitElement(e);
          if (verb === 'add') {
            if (!cont.elements.has(k)) cont.elements.set(k, tail);
          } else if (!cont.elements.delete(k)) throw new Error(`delete of missing element ${k} in ${name}`);
        }
        return;
      }
      default:
        throw new Error(`unsupported line: ${line}`);
    }
  }

  #clear(): void {
    this.exists = false;
    this.chains.clear();
    this.containers.clear();
  }

  #snapshot(): string {
    return JSON.stringify([this.exists, this.tableSpec, [...this.chains], [...this.containers].map(([n, c]) => [n, c.kind, c.spec, [...c.elements]])]);
  }

  #restore(s: string): void {
    const [exists, spec, chains, conts] = JSON.parse(s) as [boolean, string, [string, FakeChain][], [string, 'set' | 'map', string, [string, string][]][]];
    this.exists = exists;
    this.tableSpec = spec;
    this.chains.clear();
    for (const [n, c] of chains) this.chains.set(n, c);
    this.containers.clear();
    for (const [n, kind, cspec, els] of conts) this.containers.set(n, { kind, spec: cspec, elements: new Map(els) });
  }

  /** knftables Fake.Dump(): table, chains, sets, maps, then rules and elements. */
  dump(): string {
    if (!this.exists) return '';
    const t = `${this.family} kube-proxy`;
    const out = [`add table ${t}${this.tableSpec === '' ? '' : ' ' + this.tableSpec}`];
    for (const [n, c] of this.chains) out.push(`add chain ${t} ${n}${c.spec === '' ? '' : ' ' + c.spec}`);
    for (const [n, c] of this.containers) out.push(`add ${c.kind} ${t} ${n} ${c.spec}`);
    for (const [n, c] of this.chains) for (const r of c.rules) out.push(`add rule ${t} ${n} ${r}`);
    for (const [n, c] of this.containers) for (const [k, tail] of c.elements) out.push(`add element ${t} ${n} { ${k}${tail} }`);
    return out.join('\n') + '\n';
  }
}

const TYPE_ORDER = ['table', 'chain', 'set', 'map', 'rule', 'element'];

/**
 * upstream helpers_test.go sortNFTablesTransaction: comments and blank lines dropped, lines
 * sorted by object type then name, rules keeping their order within a chain (elements of one
 * container by text, since their order carries no meaning).
 */
export function sortTransaction(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const keyed = lines.map((line, i) => {
    const [, type = '', , , name = ''] = line.split(' ');
    return { line, i, type: TYPE_ORDER.indexOf(type), name };
  });
  keyed.sort((a, b) => a.type - b.type || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    (TYPE_ORDER[a.type] === 'element' ? (a.line < b.line ? -1 : a.line > b.line ? 1 : 0) : a.i - b.i));
  return keyed.map((k) => k.line).join('\n') + '\n';
}
