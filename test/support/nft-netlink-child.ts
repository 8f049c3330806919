// Run inside a test's namespace (`ip netns exec NS node --import tsx this-file`): applies each
// transaction of the JSON array on stdin through the nf_tables netlink writer
// (backends/nftables/io/netlink-writer.ts) in this process, or with `nft -f -` when the writer
// does not compile it (as the proxier does), and prints one JSON result per input:
// { ok, via: 'netlink' | 'nft' } or the NftError's line, command and detail.
import { readFileSync } from 'node:fs';
import { openNftNetlinkWriter } from '../../src/backends/nftables/io/netlink-writer.ts';
import { exec } from '../../src/system/exec.ts';
import { createNft, NftError } from '../../src/system/nft.ts';

const writer = openNftNetlinkWriter();
const nft = createNft(exec);
const inputs = JSON.parse(readFileSync(0, 'utf8')) as Array<{ tx: string; family: 'ip' | 'ip6' }>;
const out: unknown[] = [];
for (const { tx, family } of inputs) {
  try {
    if (await writer.tryRun(tx, family)) out.push({ ok: true, via: 'netlink' });
    else {
      await nft.run(tx);
      out.push({ ok: true, via: 'nft' });
    }
  } catch (err) {
    if (!(err instanceof NftError)) throw err;
    out.push({ ok: false, line: err.line, command: err.command, detail: err.detail });
  }
}
writer.close();
console.log(JSON.stringify(out));
