// Pure helpers of the first-packet (connect time) measurement in modes-side-by-side.bench.ts:
// which Services sit at the start and the end of iptables' KUBE-SERVICES (its lookup is linear in
// them; nftables' is a map), the probe client's output, and p50/p99 with the rules' cost above the
// direct connect. No node:* imports: the test checks them on plain strings.
import { servicePortName } from '../src/model/service-parse.ts';
import { percentile } from './stats.ts';

/**
 * Indices of the first and the last of N bench Services in KUBE-SERVICES order: the renderer
 * writes the top-level chains in sorted service-port-name order (render.ts), so `svc-9999` comes
 * after `svc-29999` and `svc-99:http` after `svc-999:http` (':' sorts after the digits).
 */
export function kubeServicesEnds(n: number, namespace = 'bench', port = 'http'): { first: number; last: number } {
  if (n < 1) throw new Error(`kubeServicesEnds: need at least one Service, got ${n}`);
  const names = Array.from({ length: n }, (_, i) => ({ i, key: servicePortName(namespace, `svc-${i}`, port) }));
  names.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { first: (names[0] as { i: number }).i, last: (names.at(-1) as { i: number }).i };
}

/** ClusterIPs of the nat KUBE-SERVICES rules in an iptables-restore payload, in rule order. */
export function kubeServicesOrder(payload: string): string[] {
  const nat = payload.indexOf('*nat\n');
  if (nat < 0) return [];
  const end = payload.indexOf('\nCOMMIT', nat);
  const out: string[] = [];
  const re = /^-A KUBE-SERVICES .*? -d (\d+\.\d+\.\d+\.\d+)(?:\/32)? /gm;
  const body = payload.slice(nat, end < 0 ? undefined : end);
  for (let m = re.exec(body); m !== null; m = re.exec(body)) out.push(m[1] as string);
  return out;
}

/** What the probe client (connect-client.ts) prints: connect times in µs and errors, per label. */
export interface ProbeResult {
  readonly us: Readonly<Record<string, readonly number[]>>;
  readonly errors: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** The client's last non-empty stdout line, checked: every label maps to a list of numbers. */
export function parseProbeOutput(stdout: string): ProbeResult {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new Error(`probe client: not a JSON line: ${line.slice(0, 200)}`, { cause: err });
  }
  const r = raw as { us?: unknown; errors?: unknown };
  if (typeof r.us !== 'object' || r.us === null || typeof r.errors !== 'object' || r.errors === null) {
    throw new Error(`probe client: no "us" and "errors" objects in ${line.slice(0, 200)}`);
  }
  for (const [label, xs] of Object.entries(r.us)) {
    if (!Array.isArray(xs) || xs.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new Error(`probe client: "${label}" is not a list of numbers`);
    }
  }
  return r as ProbeResult;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export function summarise(xs: readonly number[]): Summary {
  return { n: xs.length, p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99) };
}

/** `p50 / p90 / p99` in µs, with the added cost over `base` in brackets when given. */
export function fmtLatency(s: Summary, base?: Summary): string {
  if (s.n === 0) return '—';
  const cell = `${s.p50.toFixed(0)} / ${s.p90.toFixed(0)} / ${s.p99.toFixed(0)}`;
  if (base === undefined || base.n === 0) return cell;
  const d = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
  return `${cell} (${d(s.p50 - base.p50)} / ${d(s.p90 - base.p90)} / ${d(s.p99 - base.p99)})`;
}
