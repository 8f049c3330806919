// The image runs the sources compiled to JavaScript (deploy/image/assemble.sh), not through Node's
// type stripping, which alone adds ~35 MiB of RSS. Benches that report a process's memory run the
// same way: `compiled('./iptables-agent.ts', import.meta.url)` compiles src/, native/ and bench/
// once per bench process (tsconfig.bench.json → .bench-build/) and returns the emitted .js file.
// BENCH_TS=1 runs the .ts file as it is, to show what type stripping costs.
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let built = false;

export function compiled(file: string, base: string): string {
  const ts = fileURLToPath(new URL(file, base));
  if (process.env.BENCH_TS === '1') return ts;
  if (!built) {
    execFileSync(`${ROOT}node_modules/.bin/tsc`, ['-p', `${ROOT}tsconfig.bench.json`], { stdio: 'inherit' });
    built = true;
  }
  return `${ROOT}.bench-build/${relative(ROOT, ts).replace(/\.ts$/, '.js')}`;
}
