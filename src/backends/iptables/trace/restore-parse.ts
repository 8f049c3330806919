// A parser for the iptables-restore text we emit and for what iptables-save prints (modelled on
// upstream pkg/util/iptables/testing/parse.go): tables, chain declarations (with or without
// packet counters), `-A` rules as tokens, `-X` deletions. The packet tracer, `kube-proxy-ts
// trace` and the tests read payloads through it; it rejects anything it does not understand, so a
// malformed payload fails loudly here first. Pure.

export interface ParsedRule {
  readonly chain: string;
  /** Tokens after `-A CHAIN`, quotes removed. */
  readonly args: readonly string[];
  /** The line as written. */
  readonly raw: string;
}

export interface ParsedChain {
  readonly name: string;
  /** Built-in policy (`ACCEPT`) or `-` for user chains. */
  readonly policy: string;
  readonly rules: ParsedRule[];
}

export interface ParsedTable {
  readonly name: string;
  readonly chains: Map<string, ParsedChain>;
  readonly deleted: string[];
}

export class RestoreParseError extends Error {
  readonly line: number;
  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.line = line;
    this.name = 'RestoreParseError';
  }
}

/** Split like iptables-restore: whitespace separates, double quotes group (and are dropped). */
export function tokenize(line: string, lineNo = 0): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === '"') {
      inQuote = !inQuote;
      has = true;
    } else if (!inQuote && (ch === ' ' || ch === '\t')) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (inQuote) throw new RestoreParseError(lineNo, 'unterminated quote');
  if (has) out.push(cur);
  return out;
}

const CHAIN_NAME = /^[A-Za-z0-9_.-]{1,28}$/;

export function parseRestore(text: string): Map<string, ParsedTable> {
  const tables = new Map<string, ParsedTable>();
  let table: ParsedTable | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i] as string;
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (table !== undefined) throw new RestoreParseError(lineNo, `table ${table.name} not committed`);
      const name = line.slice(1);
      table = tables.get(name) ?? { name, chains: new Map(), deleted: [] };
      tables.set(name, table);
      continue;
    }
    if (table === undefined) throw new RestoreParseError(lineNo, 'line outside a table');
    if (line === 'COMMIT') {
      table = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const [name, policy, counters, ...rest] = line.slice(1).split(' ');
      if (name === undefined || !CHAIN_NAME.test(name) || policy === undefined || counters === undefined || !/^\[\d+:\d+\]$/.test(counters) || rest.length > 0) {
        throw new RestoreParseError(lineNo, `bad chain line ${JSON.stringify(line)}`);
      }
      // Declaring a chain flushes it (or creates it).
      table.chains.set(name, { name, policy, rules: [] });
      continue;
    }
    const tokens = tokenize(line, lineNo);
    if (tokens[0] === '-X' && tokens.length === 2) {
      const name = tokens[1] as string;
      if (!table.chains.has(name)) throw new RestoreParseError(lineNo, `-X of undeclared chain ${name}`);
      table.chains.delete(name);
      table.deleted.push(name);
      continue;
    }
    if (tokens[0] !== '-A' || tokens.length < 2) throw new RestoreParseError(lineNo, `unsupported line ${JSON.stringify(line)}`);
    const chainName = tokens[1] as string;
    const chain = table.chains.get(chainName);
    if (chain === undefined) throw new RestoreParseError(lineNo, `rule for undeclared chain ${chainName}`);
    chain.rules.push({ chain: chainName, args: tokens.slice(2), raw: line });
  }
  if (table !== undefined) throw new RestoreParseError(lines.length, `table ${table.name} not committed`);
  return tables;
}

/**
 * Apply a (partial) payload to a previous kernel state, as `iptables-restore --noflush` does:
 * declared chains are replaced, unmentioned chains kept, `-X` deletes.
 */
export function applyRestore(state: Map<string, ParsedTable>, text: string): Map<string, ParsedTable> {
  const next = new Map<string, ParsedTable>();
  for (const [name, t] of state) next.set(name, { name, chains: new Map(t.chains), deleted: [] });
  for (const [name, t] of parseRestore(text)) {
    const target: ParsedTable = next.get(name) ?? { name, chains: new Map(), deleted: [] };
    next.set(name, target);
    for (const [c, chain] of t.chains) target.chains.set(c, chain);
    for (const d of t.deleted) {
      target.chains.delete(d);
      target.deleted.push(d);
    }
  }
  return next;
}
