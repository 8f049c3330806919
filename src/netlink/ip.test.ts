import { describe, expect, it } from 'vitest';
import { errnoName, errnoNumber } from './errno.ts';
import { bytesToIp, canonicalIp, ipToBytes } from './ip.ts';
import { toHex } from './testdata/hex.ts';

describe('IP addresses for netlink', () => {
  it.each([
    ['10.96.0.1', '0a600001'],
    ['fd00::a', 'fd00000000000000000000000000000a'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
  ])('%s encodes to network-order bytes', (text, hex) => {
    expect(toHex(ipToBytes(text))).toBe(hex);
  });

  it.each(['10.1', '10.0.0.256', '', 'fd00::g', '0x0a000001'])('rejects "%s"', (text) => {
    expect(() => ipToBytes(text)).toThrow(/invalid IP address/);
  });

  it('decodes by family, not length: IPv4 sits in the first 4 of 16 bytes (union nf_inet_addr)', () => {
    const union = new Uint8Array(16);
    union.set([10, 244, 1, 5]);
    expect(bytesToIp(union, 'IPv4')).toBe('10.244.1.5');
    expect(() => bytesToIp(Uint8Array.of(1, 2, 3, 4), 'IPv6')).toThrow(/IPv6 address of 4 bytes/);
    expect(canonicalIp('FD00:0:0::A')).toBe('fd00::a');
  });
});

describe('errno names', () => {
  it('names the errnos IPVS and rtnetlink return, and falls back to the number', () => {
    expect([1, 2, 3, 17, 22, 34, 95, 99, 105].map(errnoName)).toEqual(['EPERM', 'ENOENT', 'ESRCH', 'EEXIST', 'EINVAL', 'ERANGE', 'EOPNOTSUPP', 'EADDRNOTAVAIL', 'ENOBUFS']);
    expect(errnoName(-17)).toBe('EEXIST');
    expect(errnoName(4000)).toBe('errno 4000');
    expect(errnoNumber('ESRCH')).toBe(3);
  });
});
