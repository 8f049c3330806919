import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../errors.ts';
import { ReplyCollector, checkOutcome, isErrno } from './exchange.ts';
import { NLM_F_CAPPED, NLM_F_DUMP_INTR, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, encodeMessages } from './message.ts';
import type { NlMsg } from './message.ts';

function err(seq: number, errno: number): NlMsg {
  const payload = new Uint8Array(20);
  const v = new DataView(payload.buffer);
  v.setInt32(0, -errno, true);
  v.setUint32(4, 16, true);
  v.setUint32(12, seq, true);
  return { type: NLMSG_ERROR, flags: NLM_F_CAPPED, seq, pid: 1, payload };
}
const data = (seq: number, byte: number, flags = NLM_F_MULTI): NlMsg => ({ type: 0x1c, flags, seq, pid: 1, payload: Uint8Array.of(byte) });
const done = (seq: number, errno = 0): NlMsg => {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setInt32(0, -errno, true);
  return { type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: 1, payload };
};

describe('ReplyCollector', () => {
  it('matches a batch of acks by sequence number, whatever their order and datagrams', () => {
    const c = new ReplyCollector([{ seq: 10, kind: 'doit' }, { seq: 11, kind: 'doit' }, { seq: 12, kind: 'doit' }]);
    c.feed(encodeMessages([err(12, 0), err(10, 17)]));
    expect(c.complete).toBe(false);
    expect(c.pending()).toEqual([11]);
    c.feed(encodeMessages([err(11, 3)]));
    expect(c.complete).toBe(true);
    expect(c.outcomes().map((o) => [o.seq, o.errno])).toEqual([[10, 17], [11, 3], [12, 0]]);
  });

  it('ignores stale replies of other sequence numbers and keeps a doit GET reply', () => {
    const c = new ReplyCollector([{ seq: 5, kind: 'doit' }]);
    c.feed(encodeMessages([err(4, 0), data(4, 9, 0), data(5, 1, 0), err(5, 0)]));
    const [o] = c.outcomes();
    expect(o?.errno).toBe(0);
    expect(o?.messages.map((m) => m.payload[0])).toEqual([1]);
  });

  it('collects multi-part dumps across datagrams until NLMSG_DONE', () => {
    const c = new ReplyCollector([{ seq: 7, kind: 'dump' }]);
    c.feed(encodeMessages([data(7, 1), data(7, 2)]));
    expect(c.complete).toBe(false);
    c.feed(encodeMessages([data(7, 3, NLM_F_MULTI | NLM_F_DUMP_INTR), done(7)]));
    const [o] = c.outcomes();
    expect(o?.messages.map((m) => m.payload[0])).toEqual([1, 2, 3]);
    expect(o?.interrupted).toBe(true);
  });

  it('ends a dump that cannot start on its NLMSG_ERROR, and a failed one on DONE with an errno', () => {
    const c = new ReplyCollector([{ seq: 1, kind: 'dump' }, { seq: 2, kind: 'dump' }]);
    c.feed(encodeMessages([err(1, 95), data(2, 1), done(2, 16)]));
    expect(c.outcomes().map((o) => o.errno)).toEqual([95, 16]);
  });

  it('reports requests that never got an answer as ETIMEDOUT', () => {
    const c = new ReplyCollector([{ seq: 1, kind: 'doit' }]);
    expect(c.outcomes()[0]?.errno).toBe(110);
  });

  it('rejects duplicate sequence numbers', () => {
    expect(() => new ReplyCollector([{ seq: 1, kind: 'doit' }, { seq: 1, kind: 'dump' }])).toThrow(/duplicate/);
  });
});

describe('checkOutcome', () => {
  const o = { seq: 1, errno: 17, messages: [], interrupted: false };
  it('names the operation and the errno, and maps only the listed errnos to success', () => {
    const e = checkOutcome('ipvs: add service 10.96.0.10:53/UDP', o);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e?.message).toBe('ipvs: add service 10.96.0.10:53/UDP: EEXIST');
    expect(e?.code).toBe('KP_ERR_NETLINK');
    expect(isErrno(e, 'ENOENT', 'EEXIST')).toBe(true);
    expect(checkOutcome('x', o, ['EEXIST'])).toBeNull();
    expect(checkOutcome('x', o, ['ENOENT'])?.errnoName).toBe('EEXIST');
    expect(checkOutcome('x', { ...o, errno: 22, extack: 'bad attr' })?.message).toBe('x: EINVAL (bad attr)');
    expect(checkOutcome('x', { ...o, errno: 0 })).toBeNull();
  });
});
