// Run inside a test's namespace (`ip netns exec NS node --import tsx this-file`): applies each
// transaction of the JSON array on stdin through createNft with libnftables in this process
// (native/libnftables.ts acts on the namespace it runs in) and prints one JSON result per input:
// { ok: true } or the NftError's line, command and detail.
import { readFileSync } from 'node:fs';
import { loadLibNftables } from '../../native/libnftables.ts';
import { exec } from '../../src/system/exec.ts';
import { createNft, NftError } from '../../src/system/nft.ts';

const lib = loadLibNftables();
if ('unavailable' in lib) {
  console.log(JSON.stringify({ unavailable: lib.unavailable }));
  process.exit(0);
}
const nft = createNft(exec, 'nft', (tx, dry) => lib.run(tx, dry));
const inputs = JSON.parse(readFileSync(0, 'utf8')) as Array<{ tx: string; check?: boolean }>;
const out: unknown[] = [];
for (const { tx, check } of inputs) {
  try {
    await (check === true ? nft.check(tx) : nft.run(tx));
    out.push({ ok: true });
  } catch (err) {
    if (!(err instanceof NftError)) throw err;
    out.push({ ok: false, line: err.line, command: err.command, detail: err.detail });
  }
}
console.log(JSON.stringify(out));
