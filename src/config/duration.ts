// Go `time.Duration` text, as KubeProxyConfiguration carries it (metav1.Duration) and as the
// duration flags take it (pflag DurationVar → time.ParseDuration). Parsed into milliseconds, the
// unit of the domain types; formatted back in Go's canonical `Duration.String()` form so that
// `--write-config-to` writes what upstream writes (`30s`, `1h0m0s`, `24h0m0s`).
import { ConfigError } from '../errors.ts';

const NS_PER_MS = 1_000_000n;

/** Nanoseconds per unit, as in Go's time.unitMap (both micro signs are accepted). */
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 MICRO SIGN
  'μs': 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.Duration is an int64 of nanoseconds; longer texts overflow there and are refused. */
const MAX_NS = (1n << 63n) - 1n;

/** Parse a Go duration into nanoseconds, or return the reason it is not one. */
export function parseGoDurationNs(text: string): bigint | string {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  // Go accepts a bare "0" (and "-0", "+0") without a unit; every other number needs one.
  if (s === '0') return 0n;
  if (s === '') return `invalid duration "${text}"`;
  let total = 0n;
  while (s !== '') {
    // As Go does, the unit is everything up to the next digit or point.
    const m = /^(\d*)(?:\.(\d*))?([^\d.]*)/u.exec(s);
    const [whole = '', intPart = '', fracPart, unit = ''] = m ?? [];
    if (whole === '' || (intPart === '' && (fracPart === undefined || fracPart === ''))) {
      return `invalid duration "${text}"`;
    }
    if (unit === '') return `missing unit in duration "${text}"`;
    const unitNs = UNIT_NS[unit];
    if (unitNs === undefined) return `unknown unit "${unit}" in duration "${text}"`;
    let value = BigInt(intPart === '' ? '0' : intPart) * unitNs;
    if (fracPart !== undefined && fracPart !== '') {
      // Go truncates the fraction to whole nanoseconds.
      value += (BigInt(fracPart) * unitNs) / 10n ** BigInt(fracPart.length);
    }
    total += value;
    if (total > MAX_NS) return `invalid duration "${text}": out of range`;
    s = s.slice(whole.length);
  }
  return negative ? -total : total;
}

/** Parse a Go duration into milliseconds (fractional below 1 ms); throws ConfigError naming `path`. */
export function parseGoDuration(text: string, path: string): number {
  const ns = parseGoDurationNs(text.trim());
  if (typeof ns === 'string') throw new ConfigError(path, `${ns} (want a Go duration such as 30s, 1m30s, 300ms)`);
  return nsToMs(ns);
}

function nsToMs(ns: bigint): number {
  const whole = ns / NS_PER_MS;
  const rest = ns % NS_PER_MS;
  return Number(whole) + Number(rest) / 1e6;
}

function msToNs(ms: number): bigint {
  const whole = Math.trunc(ms);
  return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

/** Digits of `v` with `prec` of them after a decimal point, trailing zeros (and a bare point) dropped. */
function fracString(v: bigint, prec: number): { int: bigint; frac: string } {
  const scale = 10n ** BigInt(prec);
  const frac = (v % scale).toString().padStart(prec, '0').replace(/0+$/, '');
  return { int: v / scale, frac: frac === '' ? '' : `.${frac}` };
}

/** Format nanoseconds exactly as Go's `time.Duration.String()` does. */
export function formatGoDurationNs(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  if (u === 0n) return '0s';
  if (u < 1_000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) {
    const { int, frac } = fracString(u, 3);
    return `${sign}${int}${frac}µs`;
  }
  if (u < 1_000_000_000n) {
    const { int, frac } = fracString(u, 6);
    return `${sign}${int}${frac}ms`;
  }
  const { int: secondsTotal, frac } = fracString(u, 9);
  const seconds = secondsTotal % 60n;
  const minutesTotal = secondsTotal / 60n;
  if (minutesTotal === 0n) return `${sign}${seconds}${frac}s`;
  const minutes = minutesTotal % 60n;
  const hours = minutesTotal / 60n;
  const head = hours > 0n ? `${hours}h` : '';
  return `${sign}${head}${minutes}m${seconds}${frac}s`;
}

/** Format milliseconds in Go's canonical duration form (`30s`, `1h0m0s`, `300ms`). */
export function formatGoDuration(ms: number): string {
  return formatGoDurationNs(msToNs(ms));
}
