// One rule's arguments in a canonical form, so that what we wrote to iptables-restore and what
// iptables-save prints back compare equal when they mean the same (iptables-save moves -s/-d/-i/-o/-p
// first, adds `/32` to addresses, adds `-m tcp` for --dport, prints --or-mark as --set-xmark,
// probabilities with 11 digits, recent's default --mask/--rsource, REJECT's default --reject-with).
// Tokens come from the restore parser's tokenizer (quotes dropped). Pure.
import { tokenize } from '../trace/restore-parse.ts';

const BASE = new Set(['-s', '-d', '-i', '-o', '-p', '--source', '--destination', '--in-interface', '--out-interface', '--protocol']);
const LONG_BASE: Record<string, string> = { '--source': '-s', '--destination': '-d', '--in-interface': '-i', '--out-interface': '-o', '--protocol': '-p' };
const PROTO_MODULES = new Set(['tcp', 'udp', 'sctp']);
const DEFAULT_OPTS = new Set([
  '--mask 255.255.255.255',
  '--mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  '--rsource',
  '--reject-with icmp-port-unreachable',
  '--reject-with icmp6-port-unreachable',
]);

/** An option with its values, `!` kept in front. */
type Opt = string;

function address(v: string, v6: boolean): string {
  if (v.includes('/')) return v;
  return `${v}/${v6 || v.includes(':') ? 128 : 32}`;
}

/** iptables-save prints marks without leading zeros: 0x00004000/0x00004000 → 0x4000/0x4000. */
function hex(v: string): string {
  return /^0x[0-9a-f]+(\/0x[0-9a-f]+)?$/i.test(v) ? v.split('/').map((h) => `0x${BigInt(h).toString(16)}`).join('/') : v;
}

function option(name: string, raw: string[]): string[] {
  const values = raw.map(hex);
  if (name === '--or-mark' && values.length === 1) return ['--set-xmark', `${values[0]}/${values[0]}`];
  if (name === '--xor-mark' && values.length === 1) return ['--set-xmark', `${values[0]}/0x0`];
  if (name === '--set-mark' && values.length === 1 && !values[0]?.includes('/')) return ['--set-xmark', `${values[0]}/0xffffffff`];
  if (name === '--probability' && values.length === 1) return [name, Number(values[0]).toFixed(5)];
  return [name, ...values];
}

/** Canonical text of a rule's arguments (everything after `-A CHAIN`). */
export function normaliseArgs(args: readonly string[]): string {
  const base: Opt[] = [];
  const modules: { name: string; opts: Opt[] }[] = [];
  let proto: Opt[] = [];
  let target: string[] = [];
  let current: Opt[] | undefined;
  let inTarget = false;
  for (let i = 0; i < args.length; i++) {
    let neg = '';
    let tok = args[i] as string;
    if (tok === '!') {
      neg = '! ';
      tok = args[++i] ?? '';
    }
    const values: string[] = [];
    while (i + 1 < args.length && !(args[i + 1] as string).startsWith('-') && args[i + 1] !== '!') values.push(args[++i] as string);
    if (!inTarget && BASE.has(tok)) {
      const name = LONG_BASE[tok] ?? tok;
      const v = name === '-s' || name === '-d' ? values.map((x) => address(x, false)) : values;
      base.push(`${neg}${name} ${v.join(' ')}`);
    } else if (!inTarget && (tok === '-m' || tok === '--match')) {
      const name = values[0] ?? '';
      if (PROTO_MODULES.has(name)) current = proto;
      else {
        const m = { name, opts: [] as Opt[] };
        modules.push(m);
        current = m.opts;
      }
    } else if (tok === '-j' || tok === '-g' || tok === '--jump' || tok === '--goto') {
      inTarget = true;
      target = [tok.length > 2 ? `-${tok[2]}` : tok, ...values];
    } else if (inTarget) {
      const text = `${neg}${option(tok, values).join(' ')}`;
      if (!DEFAULT_OPTS.has(text)) target.push(text);
    } else {
      const text = `${neg}${option(tok, values).join(' ')}`;
      if (DEFAULT_OPTS.has(text)) continue;
      (current ?? proto).push(text);
    }
  }
  proto = [...proto].sort();
  base.sort();
  const mods = modules.map((m) => `-m ${m.name} ${[...m.opts].sort().join(' ')}`.trimEnd());
  return [...base, ...(proto.length > 0 ? [`-m proto ${proto.join(' ')}`] : []), ...mods, ...target].join(' ');
}

/** Canonical text of one `-A CHAIN ...` line, or undefined for any other line. */
export function normaliseRuleLine(line: string): { chain: string; rule: string } | undefined {
  if (!line.startsWith('-A ')) return undefined;
  const tokens = tokenize(line);
  const chain = tokens[1];
  if (chain === undefined) return undefined;
  return { chain, rule: normaliseArgs(tokens.slice(2)) };
}
