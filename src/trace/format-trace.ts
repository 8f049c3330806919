// The text `kube-proxy-ts trace` prints: the path as an operator reads it, one fact a line, the
// verdict last (what the exit code says). Pure.
import type { TraceReport } from './trace-types.ts';

function percent(p: number): string {
  const v = p * 100;
  return `${v >= 10 || v === 0 ? v.toFixed(1) : v.toPrecision(2)}%`;
}

export function formatTrace(r: TraceReport): string {
  const out: string[] = [];
  const p = r.packet;
  const dst = p.dst.includes(':') ? `[${p.dst}]:${p.port}` : `${p.dst}:${p.port}`;
  out.push(`packet:     ${p.src} -> ${dst}/${p.protocol} (from ${p.from}; mode ${r.mode})`);
  out.push(`service:    ${r.service === null ? 'none' : `${r.service.name} (${r.service.matchedAs})`}`);
  if (r.endpoints.length > 0) {
    if (r.balancing !== null) out.push(`balancing:  ${r.balancing}`);
    out.push(`affinity:   ${r.affinity === null ? 'none' : `ClientIP, ${r.affinity.timeoutSeconds} s`}`);
    out.push('endpoints:');
    const width = Math.max(...r.endpoints.map((e) => e.address.length));
    for (const e of r.endpoints) {
      const chance = e.probability === null ? '' : `${percent(e.probability).padStart(6)}  `;
      out.push(`  ${e.address.padEnd(width)}  ${chance}masquerade: ${e.masquerade ?? 'no'}`);
      if (e.via.length > 0) out.push(`  ${' '.repeat(width)}  via ${e.via.join(' > ')}`);
    }
  }
  const verdict =
    r.verdict === 'DNAT' ? `DNAT to ${r.endpoints.map((e) => e.address).join(', ')}` : r.verdict === 'NO_SERVICE' ? 'no Service matches' : r.verdict;
  out.push(`verdict:    ${verdict}${r.reason === '' ? '' : ` (${r.reason})`}`);
  for (const n of r.notes) out.push(`note:       ${n}`);
  return out.join('\n') + '\n';
}
