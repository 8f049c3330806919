#!/usr/bin/env node
// `npm run bench`: runs every benchmark in bench/ one after another (they share the machine's two
// cores; running them together would measure each other), each printing its own side-by-side
// table. `npm run bench -- NAME` runs the ones whose file name contains NAME.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const filter = process.argv[2] ?? '';
const here = new URL('.', import.meta.url).pathname;
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
  .sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, ['--expose-gc', `${here}${file}`], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed += 1;
    console.log(`bench ${file} failed (exit ${r.status ?? r.signal})`);
  }
}
if (benches.length === 0) console.log(`no benchmark matches "${filter}"`);
process.exit(failed > 0 ? 1 : 0);
