// nfnetlink_acct counters over a NETLINK_NETFILTER socket (src/netlink/nfacct.ts), as upstream
// pkg/util/nfacct: Ensure creates a counter unless it exists, Get reads one. Counters belong to
// the network namespace, not to an IP family, so one client serves both families.
import { isErrno } from '../netlink/exchange.ts';
import { NLM_F_CREATE, NLM_F_EXCL } from '../netlink/message.ts';
import {
  NETLINK_NETFILTER, NFNL_MSG_ACCT_DEL, NFNL_MSG_ACCT_GET, NFNL_MSG_ACCT_NEW, nfacctNamePayload, nfacctType, parseNfacctCounter,
  type NfacctCounter,
} from '../netlink/nfacct.ts';
import { NetlinkSocket } from './netlink-socket.ts';

export class NfacctClient {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** Opens the socket in this process's network namespace. */
  static open(): NfacctClient {
    return new NfacctClient(NetlinkSocket.open(NETLINK_NETFILTER, { timeoutMs: 5_000 }));
  }

  /** Creates the counter; one that already exists is left as it is (its counts kept). */
  async ensure(name: string): Promise<void> {
    await this.#sock.exchangeOne(
      `nfacct: creating counter ${name}`,
      { type: nfacctType(NFNL_MSG_ACCT_NEW), flags: NLM_F_CREATE | NLM_F_EXCL, payload: nfacctNamePayload(name), kind: 'doit' },
      ['EEXIST'],
    );
  }

  /** The counter, or null when there is none of that name. */
  async get(name: string): Promise<NfacctCounter | null> {
    try {
      const o = await this.#sock.exchangeOne(`nfacct: reading counter ${name}`, {
        type: nfacctType(NFNL_MSG_ACCT_GET),
        payload: nfacctNamePayload(name),
        kind: 'doit',
      });
      const reply = o.messages[0];
      return reply === undefined ? null : parseNfacctCounter(reply.payload);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  /** Deletes the counter (tests); EBUSY while a rule still uses it. */
  async delete(name: string): Promise<void> {
    await this.#sock.exchangeOne(`nfacct: deleting counter ${name}`, { type: nfacctType(NFNL_MSG_ACCT_DEL), payload: nfacctNamePayload(name), kind: 'doit' }, ['ENOENT']);
  }

  close(): void {
    this.#sock.close();
  }
}
