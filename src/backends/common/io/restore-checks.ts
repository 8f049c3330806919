// Read-only check lines (`-C` jumps, `-S` canaries) placed inside the sync's own restore: right
// after each table's `*TABLE` header, so iptables answers them from the table it reads for the
// restore anyway (iptables-legacy reads and parses a whole table per process: ~0.1 s for nat at
// 2,000 Services), and a table the payload does not write (mangle) gets a section of its own at
// the end. A check that fails fails the restore before that table is committed. Pure.
import type { ProbeLine } from '../../../system/iptables-probe.ts';

/**
 * `payload` (chunks, iterated again on each use: the restore error reads it twice) with `checks`
 * inserted after their tables' headers, and a section for each table the payload lacks. The text
 * is otherwise the payload's, byte for byte; chunk boundaries move to line ends.
 */
export function withChecks(payload: string | Iterable<string>, checks: readonly ProbeLine[]): Iterable<string> {
  const byTable = new Map<string, string>();
  for (const c of checks) byTable.set(c.table, `${byTable.get(c.table) ?? ''}${c.line}\n`);
  return {
    *[Symbol.iterator]() {
      const pending = new Map(byTable);
      let carry = '';
      const place = function* (text: string): Generator<string> {
        let from = 0;
        for (let at = 0; at < text.length; ) {
          const nl = text.indexOf('\n', at);
          const end = nl < 0 ? text.length : nl;
          const line = text.slice(at, end);
          const lines = line.startsWith('*') ? pending.get(line.slice(1)) : undefined;
          if (lines !== undefined) {
            yield text.slice(from, end + 1);
            yield lines;
            pending.delete(line.slice(1));
            from = end + 1;
          }
          at = end + 1;
        }
        if (from < text.length) yield text.slice(from);
      };
      for (const chunk of typeof payload === 'string' ? [payload] : payload) {
        const text = carry + chunk;
        const cut = text.lastIndexOf('\n') + 1;
        carry = text.slice(cut);
        if (cut > 0) yield* place(text.slice(0, cut));
      }
      // A last line without its newline is no header; it gets one only if a section follows.
      if (carry !== '') yield pending.size > 0 ? `${carry}\n` : carry;
      for (const [table, lines] of pending) yield `*${table}\n${lines}COMMIT\n`;
    },
  };
}
