// A userspace restore payload (portal-rules.ts, written with no jumps present) as `iptables-save`
// of the node prints it: built-in chains declared, `-I CHAIN 1` jumps first in their chain (the
// last inserted first), `-A` jumps last, REJECT with its default --reject-with. Test-only.
const BUILTINS: Record<string, readonly string[]> = { nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], filter: ['INPUT', 'FORWARD', 'OUTPUT'] };

export function asIptablesSave(restore: string): string {
  const out: string[] = [];
  let table = '';
  let decl: string[] = [];
  let rules: string[] = [];
  const first = new Map<string, string[]>();
  const last = new Map<string, string[]>();
  const flush = (): void => {
    out.push(`*${table}`, ...(BUILTINS[table] ?? []).map((c) => `:${c} ACCEPT [0:0]`), ...decl);
    for (const c of BUILTINS[table] ?? []) out.push(...(first.get(c) ?? []), ...(last.get(c) ?? []));
    out.push(...rules, 'COMMIT');
    decl = [];
    rules = [];
    first.clear();
    last.clear();
  };
  for (const line of restore.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line === 'COMMIT') flush();
    else if (line.startsWith(':')) decl.push(line);
    else {
      const ins = /^-I (\S+) 1 (.*)$/.exec(line);
      const app = /^-A (PREROUTING|INPUT|OUTPUT|POSTROUTING|FORWARD) (.*)$/.exec(line);
      const fixed = line.replace(/-j REJECT$/, '-j REJECT --reject-with icmp-port-unreachable');
      if (ins !== null) first.set(ins[1] as string, [`-A ${ins[1] as string} ${ins[2] as string}`, ...(first.get(ins[1] as string) ?? [])]);
      else if (app !== null) last.set(app[1] as string, [...(last.get(app[1] as string) ?? []), line]);
      else if (line !== '') rules.push(fixed);
    }
  }
  return `${out.join('\n')}\n`;
}
