// Matching replies to requests by sequence number (netlink.h; af_netlink.c netlink_rcv_skb).
// A batch of `doit` requests sent in one datagram gets one NLMSG_ERROR per request that failed or
// asked for NLM_F_ACK, each echoing the request's nlmsg_seq; a dump answers with NLM_F_MULTI parts
// and ends with NLMSG_DONE (or an NLMSG_ERROR if it could not start). Messages for other
// sequence numbers (stale replies of an earlier, timed-out exchange) are ignored.
import { NetlinkError } from '../errors.ts';
import { errnoName } from './errno.ts';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_DUMP_INTR, parseDone, parseError, splitMessages } from './message.ts';
import type { NlMsg } from './message.ts';

/** `doit`: ends with its ACK or error (data replies before it are kept); `dump`: ends with DONE. */
export type RequestKind = 'doit' | 'dump';

export interface PendingRequest {
  readonly seq: number;
  readonly kind: RequestKind;
}

export interface Outcome {
  readonly seq: number;
  /** Positive errno, 0 on success. */
  readonly errno: number;
  /** Data messages (dump parts or a doit GET reply). */
  readonly messages: readonly NlMsg[];
  readonly extack?: string;
  /** NLM_F_DUMP_INTR seen: the dump may be inconsistent and should be repeated. */
  readonly interrupted: boolean;
}

interface State {
  kind: RequestKind;
  done: boolean;
  errno: number;
  extack?: string;
  interrupted: boolean;
  messages: NlMsg[];
}

export class ReplyCollector {
  readonly #order: number[] = [];
  readonly #states = new Map<number, State>();
  #remaining: number;

  constructor(requests: readonly PendingRequest[]) {
    for (const r of requests) {
      if (this.#states.has(r.seq)) throw new Error(`netlink: duplicate sequence number ${r.seq}`);
      this.#order.push(r.seq);
      this.#states.set(r.seq, { kind: r.kind, done: false, errno: 0, interrupted: false, messages: [] });
    }
    this.#remaining = requests.length;
  }

  get complete(): boolean {
    return this.#remaining === 0;
  }

  /** Sequence numbers still waiting for their ACK or DONE. */
  pending(): number[] {
    return this.#order.filter((s) => this.#states.get(s)?.done === false);
  }

  feed(datagram: Uint8Array): void {
    for (const m of splitMessages(datagram)) this.#feedOne(m);
  }

  #feedOne(m: NlMsg): void {
    if (m.type === NLMSG_NOOP) return;
    if (m.type === NLMSG_OVERRUN) throw new Error('netlink: NLMSG_OVERRUN, replies were lost');
    const st = this.#states.get(m.type === NLMSG_ERROR ? parseError(m).requestSeq : m.seq);
    if (st === undefined || st.done) return;
    if ((m.flags & NLM_F_DUMP_INTR) !== 0) st.interrupted = true;
    if (m.type === NLMSG_ERROR) {
      const e = parseError(m);
      st.errno = e.errno;
      if (e.message !== undefined) st.extack = e.message;
      this.#finish(st);
    } else if (m.type === NLMSG_DONE) {
      st.errno = parseDone(m);
      this.#finish(st);
    } else {
      st.messages.push(m);
    }
  }

  #finish(st: State): void {
    st.done = true;
    this.#remaining--;
  }

  /** Outcomes in request order; requests still pending are reported with `errno` ETIMEDOUT (110). */
  outcomes(): Outcome[] {
    return this.#order.map((seq) => {
      const st = this.#states.get(seq) as State;
      return {
        seq,
        errno: st.done ? st.errno : 110,
        messages: st.messages,
        interrupted: st.interrupted,
        ...(st.extack !== undefined ? { extack: st.extack } : {}),
      };
    });
  }
}

/** The NetlinkError for a failed outcome (`what` names the operation: `ipvs: add service …`). */
export function outcomeError(what: string, o: Outcome): NetlinkError {
  return new NetlinkError(what, o.errno, errnoName(o.errno), o.extack);
}

/**
 * Success, or success for the named benign errnos (EEXIST on add, ENOENT/ESRCH on delete), or the
 * NetlinkError to throw. Callers decide what is benign; the codec never does.
 */
export function checkOutcome(what: string, o: Outcome, benign: readonly string[] = []): NetlinkError | null {
  if (o.errno === 0 || benign.includes(errnoName(o.errno))) return null;
  return outcomeError(what, o);
}

/** True when `err` is a NetlinkError with one of the named errnos. */
export function isErrno(err: unknown, ...names: readonly string[]): boolean {
  return err instanceof NetlinkError && names.includes(err.errnoName);
}
