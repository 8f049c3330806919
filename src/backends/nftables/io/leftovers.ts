// The nftables mode's leftovers: our `kube-proxy` table in family ip (IPv4) and ip6 (IPv6), and
// nothing else (a table of that name in another family, e.g. inet, is not ours and stays).
// Used by --cleanup and by the other modes once their first sync is in place.
import { describeError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { IPFamily } from '../../../model/types.ts';
import type { Exec } from '../../../system/exec.ts';
import { createNft } from '../../../system/nft.ts';

export async function deleteNftablesTables(exec: Exec, families: readonly IPFamily[], logger: Logger): Promise<void> {
  const nft = createNft(exec);
  try {
    await nft.version();
  } catch (err) {
    logger.debug({ reason: describeError(err) }, 'no nft command: no nftables leftovers');
    return;
  }
  for (const family of families) {
    const fam = family === 'IPv6' ? 'ip6' : 'ip';
    if ((await nft.listObjects(fam)) === null) continue;
    await nft.deleteTable(fam);
    logger.info({ family, table: `${fam} kube-proxy` }, 'nftables mode leftovers removed');
  }
}
