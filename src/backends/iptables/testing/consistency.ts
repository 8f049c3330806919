// Port of upstream checkIPTablesRuleJumps (proxier_test.go): every jumped-to chain exists and
// has rules, and no per-service chain is created without being used.
import { parseRestore, type ParsedTable } from '../trace/restore-parse.ts';

const TOP = new Set([
  'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-FORWARD',
  'KUBE-MARK-MASQ', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL',
]);
const TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'MARK', 'MASQUERADE']);

export function checkJumps(tables: Map<string, ParsedTable>): string[] {
  const errors: string[] = [];
  for (const [name, t] of tables) {
    const jumped = new Set<string>();
    for (const c of t.chains.values()) {
      for (const r of c.rules) {
        const i = r.args.findIndex((a) => a === '-j' || a === '-g');
        const target = i >= 0 ? r.args[i + 1] : undefined;
        if (target !== undefined && !TARGETS.has(target)) jumped.add(target);
      }
    }
    for (const j of jumped) {
      const c = t.chains.get(j);
      if (c === undefined) errors.push(`${name}: jump to missing chain ${j}`);
      else if (c.rules.length === 0 && j !== 'KUBE-NODEPORTS') errors.push(`${name}: jump to empty chain ${j}`);
    }
    for (const c of t.chains.keys()) if (!jumped.has(c) && !TOP.has(c)) errors.push(`${name}: chain ${c} created but not used`);
  }
  return errors;
}

export function checkPayload(text: string): string[] {
  return checkJumps(parseRestore(text));
}
