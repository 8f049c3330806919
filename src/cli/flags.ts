// The command line, read the way Go's pflag reads kube-proxy's: `--flag=value` and `--flag value`,
// bools as `--flag`, `--flag=true|false` (strconv.ParseBool spellings), `-v=4` / `-v 4` / `-v4`,
// the last value of a repeated flag wins except for lists, which accumulate (pflag StringSlice),
// and no positional arguments. A small scan normalises argv into `--name=value` tokens first so
// yargs never guesses: a value that starts with a dash (`--oom-score-adj -999`) stays a value.
// yargs then parses strictly and renders --help. Nothing here prints or exits.
import yargs, { type Argv, type Options } from 'yargs';
import { ConfigError } from '../errors.ts';
import { FLAG_BY_NAME, FLAGS, SHORTHANDS, type FlagSpec } from './flag-table.ts';

/** Flags that were given, by upstream name. Scalars keep the last value; lists every occurrence. */
export type RawFlags = ReadonlyMap<string, string | boolean | readonly string[]>;

/** Go's strconv.ParseBool. */
export function parseGoBool(text: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return null;
}

function flagError(name: string, reason: string): ConfigError {
  return new ConfigError(name.length === 1 ? `-${name}` : `--${name}`, reason, { code: 'KP_ERR_FLAG_INVALID' });
}

/** Rewrite argv into unambiguous `--name=value` tokens. Throws ConfigError for malformed input. */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') {
      if (i + 1 < argv.length) throw new ConfigError('arguments', `unexpected argument "${argv[i + 1] ?? ''}": kube-proxy takes flags only`, { code: 'KP_ERR_FLAG_INVALID' });
      continue;
    }
    let name: string;
    let value: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      value = eq < 0 ? undefined : token.slice(eq + 1);
    } else if (token.startsWith('-') && token.length > 1) {
      const short = token[1] ?? '';
      name = SHORTHANDS[short] ?? '';
      if (name === '') throw new ConfigError(`-${short}`, `unknown shorthand flag in ${token}`, { code: 'KP_ERR_FLAG_INVALID' });
      const rest = token.slice(2);
      value = rest === '' ? undefined : rest.startsWith('=') ? rest.slice(1) : rest;
    } else {
      throw new ConfigError('arguments', `unexpected argument "${token}": kube-proxy takes flags only`, { code: 'KP_ERR_FLAG_INVALID' });
    }
    const spec = FLAG_BY_NAME.get(name);
    if (spec === undefined) throw flagError(name, 'unknown flag');
    if (spec.kind === 'boolean') {
      const b = value === undefined ? true : parseGoBool(value);
      if (b === null) throw flagError(name, `must be true or false, got "${value ?? ''}"`);
      out.push(`--${name}=${String(b)}`);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw flagError(name, 'flag needs an argument');
      value = argv[++i] ?? '';
    }
    out.push(`--${name}=${value}`);
  }
  return out;
}

function build(): Argv {
  let y = yargs()
    .scriptName('kube-proxy-ts')
    .usage('$0 [flags]\n\nA drop-in replacement for kube-proxy: programs Service load-balancing on this node.')
    .parserConfiguration({
      'camel-case-expansion': false,
      'dot-notation': false,
      'boolean-negation': false,
      'duplicate-arguments-array': true,
      'flatten-duplicate-arrays': true,
      'greedy-arrays': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'short-option-groups': false,
    })
    .help(false)
    .version(false)
    .strict()
    .exitProcess(false)
    .wrap(100)
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? new ConfigError('arguments', msg ?? 'invalid command line', { code: 'KP_ERR_FLAG_INVALID' });
    });
  for (const f of FLAGS) y = y.option(f.name, optionFor(f));
  return y.alias('help', 'h');
}

function optionFor(f: FlagSpec): Options {
  const describe = f.deprecated === undefined ? f.describe : `${f.describe} (DEPRECATED: ${f.deprecated})`;
  return {
    type: f.kind === 'boolean' ? ('boolean' as const) : ('string' as const),
    group: f.group,
    describe,
    ...(f.shown !== undefined ? { defaultDescription: f.shown } : {}),
  };
}

/** Parse argv into the flags that were given. Throws ConfigError (KP_ERR_FLAG_INVALID). */
export function parseFlags(argv: readonly string[]): RawFlags {
  const normalized = normalizeArgv(argv);
  const parsed = build().parseSync(normalized) as Record<string, unknown>;
  const raw = new Map<string, string | boolean | readonly string[]>();
  for (const f of FLAGS) {
    const v = parsed[f.name];
    if (v === undefined) continue;
    const values = (Array.isArray(v) ? v : [v]) as (string | boolean)[];
    if (f.kind === 'list') raw.set(f.name, values.map(String));
    else raw.set(f.name, values[values.length - 1] ?? '');
  }
  return raw;
}

/** The --help text, rendered by yargs into a string (never printed here). */
export function helpText(): string {
  let text = '';
  build().showHelp((s: string) => {
    text = s;
  });
  return text;
}
