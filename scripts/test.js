#!/usr/bin/env node
// `npm test`: typecheck, lint, then every vitest suite (unit and system). Prints one plain closing
// line `N passed, M failed, K skipped` (CI reads it), after naming every skipped test — the skip
// reason is part of the test's name (see test/support/requirements.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const args = process.argv.slice(2);
const report = '.test-report.json';
let passed = 0;
let failed = 0;
let skipped = 0;

function step(name, cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  if (r.status === 0) passed += 1;
  else {
    failed += 1;
    console.error(`check failed: ${name} (exit ${r.status ?? r.signal})`);
  }
}

if (args.length === 0) {
  step('typecheck', 'tsc', ['-p', 'tsconfig.json', '--noEmit']);
  step('lint', 'eslint', ['.']);
}

rmSync(report, { force: true });
const run = spawnSync('vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile=${report}`, ...args], {
  stdio: 'inherit',
});
let parsed = null;
try {
  parsed = JSON.parse(readFileSync(report, 'utf8'));
} catch (err) {
  console.error(`could not read the vitest report ${report}: ${err.message}`);
}
if (parsed) {
  const skippedNames = [];
  for (const file of parsed.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'passed') passed += 1;
      else if (t.status === 'failed') failed += 1;
      else {
        skipped += 1;
        skippedNames.push(t.fullName);
      }
    }
    // A file that failed to load has no assertion results but did fail; so does one whose hooks
    // (beforeAll/afterAll) failed after its tests passed: it counts as one failure either way.
    const results = file.assertionResults ?? [];
    if (file.status === 'failed' && !results.some((t) => t.status === 'failed')) {
      failed += 1;
      console.error(`suite failed outside its tests: ${file.name}`);
    }
  }
  for (const name of skippedNames) console.log(`skipped: ${name}`);
}
// Whatever vitest failed on that the report does not show (an unhandled error): still a failure.
if (run.status !== 0 && failed === 0) failed += 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || run.status !== 0 ? 1 : 0);
