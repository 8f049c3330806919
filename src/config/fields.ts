// A typed reader over one object of a decoded config document. Wrong types are ConfigErrors that
// name the field path; fields the schema does not know become warnings, as upstream's lenient
// v1alpha1 decoding does (cmd/kube-proxy/app/options.go loadConfig: strict first, then lenient
// with a logged warning), so a config written for a newer kube-proxy still loads.
import { ConfigError } from '../errors.ts';
import { parseGoDuration } from './duration.ts';

export type Raw = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export class Fields {
  readonly #obj: Raw;
  readonly #prefix: string;
  readonly #warnings: string[];

  constructor(obj: Raw, prefix: string, known: readonly string[], warnings: string[]) {
    this.#obj = obj;
    this.#prefix = prefix;
    this.#warnings = warnings;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) warnings.push(`unknown field "${this.path(key)}" ignored`);
    }
  }

  path(key: string): string {
    return this.#prefix === '' ? key : `${this.#prefix}.${key}`;
  }

  warn(message: string): void {
    this.#warnings.push(message);
  }

  /** The raw value; undefined for both absent and null, which Go decodes to the zero value. */
  raw(key: string): unknown {
    const v = this.#obj[key];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined || typeof v === 'string') return v;
    throw new ConfigError(this.path(key), `must be a string, got ${describe(v)}`);
  }

  boolean(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined || typeof v === 'boolean') return v;
    throw new ConfigError(this.path(key), `must be true or false, got ${describe(v)}`);
  }

  number(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    throw new ConfigError(this.path(key), `must be a number, got ${describe(v)}`);
  }

  /** A Go int32 field: whole and in range, else the decode fails as it does upstream. */
  int32(key: string): number | undefined {
    const v = this.number(key);
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
      throw new ConfigError(this.path(key), `must be a 32-bit integer, got ${v}`);
    }
    return v;
  }

  /** A metav1.Duration: a Go duration string, in ms. */
  duration(key: string): number | undefined {
    const v = this.string(key);
    return v === undefined ? undefined : parseGoDuration(v, this.path(key));
  }

  stringList(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new ConfigError(this.path(key), `must be a list of strings, got ${describe(v)}`);
    return v.map((item: unknown, i) => {
      if (typeof item !== 'string') throw new ConfigError(`${this.path(key)}[${i}]`, `must be a string, got ${describe(item)}`);
      return item;
    });
  }

  boolMap(key: string): Record<string, boolean> | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isObject(v)) throw new ConfigError(this.path(key), `must be a map of name: true|false, got ${describe(v)}`);
    const out: Record<string, boolean> = {};
    for (const [name, value] of Object.entries(v)) {
      if (typeof value !== 'boolean') throw new ConfigError(this.path(`${key}.${name}`), `must be true or false, got ${describe(value)}`);
      out[name] = value;
    }
    return out;
  }

  /** A nested object, read with its own known keys; an empty reader when absent. */
  object(key: string, known: readonly string[]): Fields {
    const v = this.raw(key);
    if (v !== undefined && !isObject(v)) throw new ConfigError(this.path(key), `must be an object, got ${describe(v)}`);
    return new Fields(v ?? {}, this.path(key), known, this.#warnings);
  }
}
