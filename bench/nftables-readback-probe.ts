// Probe (not a bench): reads the `kube-proxy` table of family ip back REPEAT times in the
// caller's namespace and prints wall, CPU (user/sys) and the event loop's longest stall.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openNftTableReader } from '../src/backends/nftables/io/read-table.ts';

// GETS=0: element dumps only, the read-back before the numbered gets (the same run's baseline).
const reader = openNftTableReader({ numberedGets: process.env.GETS !== '0' });
const repeat = Number(process.env.REPEAT ?? 3);
for (let i = 0; i < repeat; i++) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const t = await reader.read('ip');
  const cpu = process.cpuUsage(cpu0);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  let elements = 0;
  for (const s of t?.sets.values() ?? []) elements += s.elements.length;
  console.log(JSON.stringify({ ms: Math.round(ms), userMs: Math.round(cpu.user / 1000), sysMs: Math.round(cpu.system / 1000), maxLoopStallMs: Math.round(h.max / 1e6), chains: t?.chains.size, sets: t?.sets.size, elements }));
}
reader.close();
