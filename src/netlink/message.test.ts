import { describe, expect, it } from 'vitest';
import { attr, encodeAttrs } from './attrs.ts';
import {
  NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, encodeMessages, parseDone, parseError,
  splitMessages,
} from './message.ts';
import { fromHex, toHex } from './testdata/hex.ts';

/** struct nlmsgerr for a request header, optionally with echoed payload and ext-ack TLVs. */
function errorMsg(errno: number, seq: number, echoed: Uint8Array, tlvs: Uint8Array, flags: number): Uint8Array {
  const payload = new Uint8Array(4 + 16 + echoed.byteLength + tlvs.byteLength);
  const v = new DataView(payload.buffer);
  v.setInt32(0, -errno, true);
  v.setUint32(4, 16 + echoed.byteLength, true);
  v.setUint16(8, 0x1c, true);
  v.setUint32(12, seq, true);
  payload.set(echoed, 20);
  payload.set(tlvs, 20 + echoed.byteLength);
  return encodeMessages([{ type: NLMSG_ERROR, flags, seq, pid: 99, payload }]);
}

describe('netlink messages', () => {
  it('encodes nlmsghdr in host order with unpadded nlmsg_len and 4-byte aligned messages', () => {
    const out = encodeMessages([
      { type: 0x1c, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 7, pid: 0, payload: fromHex('0101') },
      { type: 0x10, flags: NLM_F_REQUEST, seq: 8, pid: 0, payload: new Uint8Array() },
    ]);
    expect(toHex(out)).toBe('120000001c0005000700000000000000' + '01010000' + '10000000100001000800000000000000');
    expect(splitMessages(out).map((m) => [m.type, m.seq, m.payload.byteLength])).toEqual([[0x1c, 7, 2], [0x10, 8, 0]]);
  });

  it('rejects a message whose length runs past the datagram', () => {
    expect(() => splitMessages(fromHex('40000000020000000100000000000000'))).toThrow(/malformed message at offset 0/);
  });

  it('decodes an ACK, a capped error with ext-ack message and offset, and an uncapped error', () => {
    const ack = splitMessages(errorMsg(0, 5, new Uint8Array(), new Uint8Array(), NLM_F_CAPPED))[0];
    expect(ack && parseError(ack)).toEqual({ errno: 0, requestType: 0x1c, requestSeq: 5 });
    const tlvs = encodeAttrs([attr.str(1, 'Attribute failed policy validation'), attr.u32(2, 24)]);
    const capped = splitMessages(errorMsg(22, 6, new Uint8Array(), tlvs, NLM_F_CAPPED | NLM_F_ACK_TLVS))[0];
    expect(capped && parseError(capped)).toEqual({
      errno: 22, requestType: 0x1c, requestSeq: 6, message: 'Attribute failed policy validation', offset: 24,
    });
    const full = splitMessages(errorMsg(17, 9, fromHex('0101000008000100aabbccdd'), encodeAttrs([attr.str(1, 'exists')]), NLM_F_ACK_TLVS))[0];
    expect(full && parseError(full)).toMatchObject({ errno: 17, requestSeq: 9, message: 'exists' });
  });

  it('reads the NLMSG_DONE status', () => {
    const [ok, bad] = splitMessages(
      encodeMessages([
        { type: NLMSG_DONE, flags: 2, seq: 1, pid: 1, payload: fromHex('00000000') },
        { type: NLMSG_DONE, flags: 2, seq: 1, pid: 1, payload: fromHex('f0ffffff') },
      ]),
    );
    expect([ok && parseDone(ok), bad && parseDone(bad)]).toEqual([0, 16]);
  });
});
