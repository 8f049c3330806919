// The flags as /flagz shows them (component-base zpages/flagz, served by upstream kube-proxy on
// the metrics address since v1.33, kubernetes#128985): every flag of the command line, given or
// not, with the value it had at start as pflag prints it — the given value, else the default;
// booleans `true`/`false`, lists `[a,b]`. `--help` is left out (it never reaches a running daemon).
import { FLAGS } from './flag-table.ts';
import type { RawFlags } from './flags.ts';

export function flagzValues(raw: RawFlags): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of FLAGS) {
    if (f.name === 'help') continue;
    const v = raw.get(f.name);
    if (v === undefined) out[f.name] = f.kind === 'list' ? '[]' : f.kind === 'boolean' ? (f.shown ?? 'false') : (f.shown ?? '');
    else if (typeof v === 'boolean') out[f.name] = String(v);
    else if (typeof v === 'string') out[f.name] = v;
    else out[f.name] = `[${v.join(',')}]`;
  }
  return out;
}
