import { describe, expect, it } from 'vitest';
import { Attrs, NLA_F_NESTED, attr, encodeAttrs } from './attrs.ts';
import { fromHex, toHex } from './testdata/hex.ts';

describe('netlink attributes', () => {
  it.each([
    ['u8 pads to 4', [attr.u8(1, 0xab)], '05000100ab000000'],
    ['u16 host order', [attr.u16(2, 0x0102)], '0600020002010000'],
    ['be16 network order', [attr.be16(4, 443)], '0600040001bb0000'],
    ['u32', [attr.u32(8, 10800)], '08000800302a0000'],
    ['be32', [attr.be32(9, 0xffffff00)], '08000900ffffff00'],
    ['u64', [attr.u64(4, 0x0102030405060708n)], '0c0004000807060504030201'],
    ['string keeps its NUL in nla_len', [attr.str(6, 'rr')], '0700060072720000'],
    ['empty nest', [attr.nest(1, [])], '04000100'],
    ['nest of two', [attr.nest(1 | NLA_F_NESTED, [attr.u16(1, 2), attr.str(2, 'wrr')])], '1400018006000100020000000800020077727200'],
  ])('encodes %s', (_name, attrs, hex) => {
    expect(toHex(encodeAttrs(attrs))).toBe(hex);
  });

  it('decodes what it encodes, masking the nested/byte-order flags from the type', () => {
    const bytes = encodeAttrs([
      attr.u16(1, 10), attr.be16(4, 8080), attr.u32(5, 0xdeadbeef), attr.u64(6, 2n ** 40n),
      attr.str(7, 'sh'), attr.nest(8 | NLA_F_NESTED, [attr.u32(1, 7)]),
    ]);
    const a = new Attrs(bytes);
    expect(a.types()).toEqual([1, 4, 5, 6, 7, 8]);
    expect([a.u16(1), a.be16(4), a.u32(5), a.u64(6), a.str(7), a.nested(8)?.u32(1)]).toEqual([10, 8080, 0xdeadbeef, 2n ** 40n, 'sh', 7]);
    expect(a.u32(99)).toBeUndefined();
  });

  it('rejects an attribute running past its buffer, and a too-short integer', () => {
    expect(() => new Attrs(fromHex('0c000100aabbccdd'))).toThrow(/malformed attribute at offset 0/);
    expect(() => new Attrs(fromHex('0600010001020000')).u32(1)).toThrow(/2 bytes, want 4/);
  });
});
