// The nf_tables netlink writer: a transaction our compiler accepts (backends/nftables/compile) is
// sent as one nfnetlink batch over a NETLINK_NETFILTER socket of this process's network namespace,
// without nft's cache fetch (the cost that grows with the table: issue 12). Every message is acked;
// the first refused one is reported as NftError with the transaction line that produced it, as the
// libnftables path reports nft's failing line.
import { NftError } from '../../../system/nft.ts';
import { NetlinkSocket } from '../../../system/netlink-socket.ts';
import { errnoName } from '../../../netlink/errno.ts';
import { NETLINK_NETFILTER } from '../../../netlink/nfacct.ts';
import { batchMarker, encodeCommand, type NftMessage } from '../../../netlink/nftables/messages.ts';
import { NFPROTO_IPV4, NFPROTO_IPV6 } from '../../../netlink/nftables/constants.ts';
import { compileTransaction, type CompiledTransaction } from '../compile/transaction.ts';
import type { NfFamily } from '../compile/values.ts';
import { TABLE } from '../names.ts';

/** Applies a transaction when it compiles; `false` when it does not (the caller uses libnftables). */
export interface NftNetlinkWriter {
  tryRun(transaction: string, family: NfFamily): Promise<boolean>;
  close(): void;
}

/** The batch's messages (begin/end excluded), in command order. */
export function encodeCompiled(c: CompiledTransaction): NftMessage[] {
  const family = c.family === 'ip' ? NFPROTO_IPV4 : NFPROTO_IPV6;
  return c.commands.map((cmd) => encodeCommand(family, TABLE, cmd));
}

const shorten = (s: string): string => (s.length > 300 ? `${s.slice(0, 300)}...` : s);

export interface NftNetlinkWriterOptions {
  readonly timeoutMs?: number;
  /**
   * true: anonymous sets are sent as `__map%d`, numbered by the kernel as nft does. That numbering
   * scans every set of the table (sscanf of each name, nf_tables_set_alloc_name): ~18 ms of a
   * one-change batch at 30k Services. By default each gets a name of ours instead (`__mapk…`, which
   * no `__map%d` scan matches, unique over this process); anonymous sets print inline either way.
   */
  readonly kernelNames?: boolean;
}

export function openNftNetlinkWriter(options: NftNetlinkWriterOptions = {}): NftNetlinkWriter {
  const sock = NetlinkSocket.open(NETLINK_NETFILTER, { timeoutMs: options.timeoutMs ?? 30_000 });
  // A stamp of this process start keeps names apart from a previous life's, should any survive.
  const stamp = Date.now().toString(36);
  let serial = 0;
  const anonName = options.kernelNames === true ? undefined : (): string => `__mapk${stamp}n${(serial++).toString(36)}`;
  const marker = (end: boolean): { type: number; payload: Uint8Array; kind: 'doit' } => {
    const m = batchMarker(end);
    return { type: m.type, payload: m.payload, kind: 'doit' };
  };
  return {
    async tryRun(transaction, family) {
      const compiled = compileTransaction(transaction, family, anonName === undefined ? {} : { anonName });
      if ('unsupported' in compiled) return false;
      if (compiled.commands.length === 0) return true;
      const msgs = encodeCompiled(compiled);
      const outcomes = await sock.batch(marker(false), msgs.map((m) => ({ type: m.type, flags: m.flags, payload: m.payload, kind: 'doit' as const })), marker(true));
      const k = outcomes.findIndex((o) => o.errno !== 0);
      if (k < 0) return true;
      const o = outcomes[k];
      const line = compiled.lines[k] ?? 0;
      const command = transaction.split('\n')[line - 1] ?? '';
      const what = `${compiled.commands[k]?.op ?? 'command'}: ${errnoName(o?.errno ?? 0)}${o?.extack !== undefined ? ` (${o.extack})` : ''}`;
      throw new NftError(`kernel refused ${what}`, line, shorten(command));
    },
    close: () => sock.close(),
  };
}
