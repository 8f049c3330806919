// The table reader of restart adoption (read-table.ts), unless KUBE_PROXY_TS_NFT_ADOPT=0 or the
// socket cannot open: then a populated table is replaced whole at start, as before.
import { describeError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import { openNftTableReader, type NftTableReader } from './read-table.ts';

export function openTableReader(logger: Logger, env: Readonly<Record<string, string | undefined>>): NftTableReader | undefined {
  if (env.KUBE_PROXY_TS_NFT_ADOPT === '0') return undefined;
  try {
    return openNftTableReader();
  } catch (err) {
    logger.warn({ err, reason: describeError(err) }, 'nf_tables netlink socket unavailable: a populated table is replaced whole at start');
    return undefined;
  }
}
