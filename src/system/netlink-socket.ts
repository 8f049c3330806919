// The netlink shell: the only code that calls native/. Opens a non-blocking AF_NETLINK socket,
// sends batches of requests (one datagram per chunk) and receives until every request has its ACK
// or DONE, matched by sequence number (src/netlink/exchange.ts). Waiting happens in poll(2) on
// koffi's worker thread, in slices of at most POLL_SLICE_MS, so the event loop never blocks.
import * as libc from '../../native/libc.ts';
import { SyscallError } from '../../native/libc.ts';
import { KubeProxyError } from '../errors.ts';
import { checkOutcome, ReplyCollector } from '../netlink/exchange.ts';
import type { Outcome, RequestKind } from '../netlink/exchange.ts';
import {
  NETLINK_CAP_ACK, NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_HDRLEN, SOL_NETLINK, encodeMessages,
} from '../netlink/message.ts';
import type { NlMsg } from '../netlink/message.ts';

const POLL_SLICE_MS = 200;
/** Kernel doubles it; acks of a few hundred requests and 32 KiB dump skbs fit with room to spare. */
const SOCKET_BUFFER = 4 << 20;
/** Requests per datagram: keeps every ack of a chunk inside the receive buffer (no ENOBUFS). */
const MAX_CHUNK_MESSAGES = 256;
const MAX_CHUNK_BYTES = 256 << 10;

export interface NetlinkRequest {
  readonly type: number;
  /** Extra flags (NLM_F_CREATE|NLM_F_EXCL …); REQUEST and ACK/DUMP are added from `kind`. */
  readonly flags?: number;
  readonly payload: Uint8Array;
  readonly kind: RequestKind;
}

export interface NetlinkSocketOptions {
  /** Per exchange (one chunk or one dump); default 10 s. */
  readonly timeoutMs?: number;
}

function sockaddrNl(pid: number): Uint8Array {
  // struct sockaddr_nl { sa_family_t nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; }
  const b = new Uint8Array(12);
  new Uint16Array(b.buffer, 0, 1)[0] = libc.AF_NETLINK;
  new Uint32Array(b.buffer, 4, 1)[0] = pid;
  return b;
}

const KERNEL = sockaddrNl(0);

export class NetlinkSocket {
  readonly protocol: number;
  readonly portId: number;
  readonly #timeoutMs: number;
  #fd: number;
  #seq: number;
  #buf = new Uint8Array(64 << 10);
  /** Exchanges run one after another: replies of a running dump must not mix with a batch. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(protocol: number, fd: number, portId: number, timeoutMs: number) {
    this.protocol = protocol;
    this.#fd = fd;
    this.portId = portId;
    this.#timeoutMs = timeoutMs;
    // Start from a time-derived number so replies left over from another socket's life never match.
    this.#seq = (Date.now() & 0x7fffffff) >>> 0;
  }

  /** Opens and binds a socket (NETLINK_GENERIC = 16, NETLINK_ROUTE = 0) in the caller's netns. */
  static open(protocol: number, options: NetlinkSocketOptions = {}): NetlinkSocket {
    const fd = libc.socket(libc.AF_NETLINK, libc.SOCK_RAW | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, protocol);
    try {
      setBuffer(fd, libc.SO_RCVBUFFORCE, libc.SO_RCVBUF);
      setBuffer(fd, libc.SO_SNDBUFFORCE, libc.SO_SNDBUF);
      libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      // Errors echo only the request header: we match by seq, and full echoes fill the buffer.
      libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      libc.bind(fd, sockaddrNl(0));
      const addr = libc.getsockname(fd, 12);
      const portId = new Uint32Array(addr.slice(4, 8).buffer)[0] ?? 0;
      return new NetlinkSocket(protocol, fd, portId, options.timeoutMs ?? 10_000);
    } catch (err) {
      libc.close(fd);
      throw err;
    }
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    libc.close(fd);
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }

  /** One request; its outcome, or the kernel's error as a NetlinkError unless its errno is tolerated. */
  async exchangeOne(what: string, r: NetlinkRequest, tolerate: readonly string[] = []): Promise<Outcome> {
    const [o] = await this.exchange([r]);
    if (o === undefined) throw new Error('unreachable: one request, one outcome');
    const err = checkOutcome(what, o, tolerate);
    if (err) throw err;
    return o;
  }

  /**
   * Sends `requests` (doits in chunks of one datagram each, dumps one at a time since a running
   * dump occupies the socket) and returns one Outcome per request, in order. Kernel errors are
   * outcomes, not exceptions; exceptions mean the exchange itself broke (timeout, ENOBUFS).
   */
  exchange(requests: readonly NetlinkRequest[]): Promise<Outcome[]> {
    const run = this.#queue.then(() => this.#exchangeNow(requests));
    // The queue only orders exchanges; each caller gets its own result or error from `run`.
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #exchangeNow(requests: readonly NetlinkRequest[]): Promise<Outcome[]> {
    if (this.#fd < 0) throw new KubeProxyError('KP_ERR_NETLINK', 'netlink: socket closed');
    const out: Outcome[] = [];
    let chunk: NlMsg[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      out.push(...(await this.#roundTrip(chunk, 'doit')));
      chunk = [];
      bytes = 0;
    };
    for (const r of requests) {
      const msg: NlMsg = {
        type: r.type,
        flags: NLM_F_REQUEST | (r.kind === 'dump' ? NLM_F_DUMP : NLM_F_ACK) | (r.flags ?? 0),
        seq: this.#nextSeq(),
        pid: 0,
        payload: r.payload,
      };
      if (r.kind === 'dump') {
        await flush();
        out.push(...(await this.#roundTrip([msg], 'dump')));
        continue;
      }
      const size = NLMSG_HDRLEN + r.payload.byteLength + 3;
      if (chunk.length >= MAX_CHUNK_MESSAGES || bytes + size > MAX_CHUNK_BYTES) await flush();
      chunk.push(msg);
      bytes += size;
    }
    await flush();
    return out;
  }

  /**
   * One nfnetlink batch (nfnetlink_rcv_batch): `begin`, every request (each acked), `end`, in one
   * datagram, so the kernel applies all or nothing. One Outcome per request, in order.
   */
  batch(begin: NetlinkRequest, requests: readonly NetlinkRequest[], end: NetlinkRequest): Promise<Outcome[]> {
    const run = this.#queue.then(() => {
      if (this.#fd < 0) throw new KubeProxyError('KP_ERR_NETLINK', 'netlink: socket closed');
      const marker = (r: NetlinkRequest): NlMsg => ({ type: r.type, flags: NLM_F_REQUEST | (r.flags ?? 0), seq: this.#nextSeq(), pid: 0, payload: r.payload });
      const head = marker(begin);
      const body = requests.map((r): NlMsg => ({ type: r.type, flags: NLM_F_REQUEST | NLM_F_ACK | (r.flags ?? 0), seq: this.#nextSeq(), pid: 0, payload: r.payload }));
      return this.#roundTrip([head, ...body, marker(end)], 'doit', body);
    });
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** `acked`: the messages that answer (default all); batch markers get no reply. */
  async #roundTrip(msgs: readonly NlMsg[], kind: RequestKind, acked: readonly NlMsg[] = msgs): Promise<Outcome[]> {
    const collector = new ReplyCollector(acked.map((m) => ({ seq: m.seq, kind })));
    const data = encodeMessages(msgs);
    const sent = libc.sendto(this.#fd, data, 0, KERNEL);
    if (sent !== data.byteLength) {
      throw new KubeProxyError('KP_ERR_NETLINK', `netlink: short send (${sent} of ${data.byteLength} bytes)`);
    }
    const deadline = Date.now() + this.#timeoutMs;
    while (!collector.complete) {
      const datagram = this.#receiveNow();
      if (datagram !== null) {
        collector.feed(datagram);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new KubeProxyError(
          'KP_ERR_NETLINK',
          `netlink: no reply within ${this.#timeoutMs} ms for ${collector.pending().length} of ${acked.length} requests`,
        );
      }
      if (this.#fd < 0) throw new KubeProxyError('KP_ERR_NETLINK', 'netlink: socket closed during exchange');
      await libc.pollReadable(this.#fd, Math.min(left, POLL_SLICE_MS));
    }
    return collector.outcomes();
  }

  /** One datagram if queued, else null. Peeks with MSG_TRUNC first so no reply is cut short. */
  #receiveNow(): Uint8Array | null {
    try {
      const size = libc.recv(this.#fd, this.#buf, libc.MSG_PEEK | libc.MSG_TRUNC | libc.MSG_DONTWAIT);
      if (size > this.#buf.byteLength) this.#buf = new Uint8Array(size + 4096);
      const n = libc.recv(this.#fd, this.#buf, libc.MSG_DONTWAIT);
      return this.#buf.slice(0, n);
    } catch (err) {
      if (err instanceof SyscallError && (err.errnoName === 'EAGAIN' || err.errnoName === 'EINTR')) return null;
      if (err instanceof SyscallError && err.errnoName === 'ENOBUFS') {
        throw new KubeProxyError('KP_ERR_NETLINK', 'netlink: receive buffer overrun, replies were lost (ENOBUFS)', { cause: err });
      }
      throw err;
    }
  }
}

/** SO_*BUFFORCE needs CAP_NET_ADMIN; without it fall back to the rmem_max-capped option. */
function setBuffer(fd: number, force: number, plain: number): void {
  try {
    libc.setsockoptInt(fd, libc.SOL_SOCKET, force, SOCKET_BUFFER);
  } catch (err) {
    if (!(err instanceof SyscallError && err.errnoName === 'EPERM')) throw err;
    libc.setsockoptInt(fd, libc.SOL_SOCKET, plain, SOCKET_BUFFER);
  }
}
