import { describe, expect, it } from 'vitest';
import { encodeAttrs, attr } from './attrs.ts';
import { NFACCT_BYTES, NFACCT_NAME, NFACCT_PKTS, nfacctNamePayload, nfacctType, parseNfacctCounter } from './nfacct.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const be64 = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, false);
  return b;
};

describe('nfnetlink_acct codec', () => {
  it('encodes the message type and a name request as the kernel expects (golden bytes)', () => {
    expect(nfacctType(0)).toBe(0x0700);
    expect(nfacctType(1)).toBe(0x0701);
    // nfgenmsg 00 00 0000, then nla_len 0x000a nla_type 1 "pkts1\0" padded to 12.
    expect(hex(nfacctNamePayload('pkts1'))).toBe('00000000' + '0a000100' + '706b74733100' + '0000');
  });

  it.each(['', 'x'.repeat(32)])('refuses the name %j (1 to 31 characters)', (name) => {
    expect(() => nfacctNamePayload(name)).toThrow(/must have 1 to 31 characters/);
  });

  it('decodes a counter reply with big-endian 64-bit counts', () => {
    const attrs = encodeAttrs([attr.str(NFACCT_NAME, 'ct_state_invalid_dropped_pkts'), attr.bytes(NFACCT_PKTS, be64(2n ** 40n + 3n)), attr.bytes(NFACCT_BYTES, be64(99n))]);
    const payload = new Uint8Array(4 + attrs.byteLength);
    payload.set(attrs, 4);
    expect(parseNfacctCounter(payload)).toEqual({ name: 'ct_state_invalid_dropped_pkts', packets: 2n ** 40n + 3n, bytes: 99n });
  });
});
