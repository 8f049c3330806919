import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitMessages } from './message.ts';
import { RTM_NEWADDR, RTM_NEWLINK, parseAddress, parseLink, rtRequest } from './rtnetlink.ts';
import { fromHex, toHex } from './testdata/hex.ts';

/** A reply captured from the IPVS test kernel by test/support/uml-capture-fixtures.ts. */
const fixture = (name: string): Uint8Array =>
  fromHex(readFileSync(new URL(`./testdata/${name}.hex`, import.meta.url), 'utf8'));

describe('rtnetlink requests (golden bytes)', () => {
  it('RTM_NEWLINK dummy kube-ipvs0: ifinfomsg, IFLA_IFNAME, nested IFLA_LINKINFO { IFLA_INFO_KIND }', () => {
    expect(toHex(rtRequest.newDummyLink('kube-ipvs0'))).toBe(
      '00'.repeat(16) + '0f000300' + '6b7562652d69707673300000' + '10001280' + '0a000100' + '64756d6d79000000',
    );
  });

  it('RTM_NEWADDR /32 and /128 with IFA_LOCAL and IFA_ADDRESS (IPv6 also NODAD)', () => {
    expect(toHex(rtRequest.address(7, '10.96.0.1'))).toBe('02200000' + '07000000' + '080002000a600001' + '080001000a600001');
    const v6 = toHex(rtRequest.address(7, 'fd00::a'));
    expect(v6.startsWith('0a800000' + '07000000' + '14000200fd00')).toBe(true);
    expect(v6.endsWith('08000800' + '02000000')).toBe(true);
  });

  it('sets only IFF_UP on a link', () => {
    expect(toHex(rtRequest.setLinkUp(3, true))).toBe('0000000003000000' + '01000000' + '01000000');
  });

  it('rejects link names the kernel would refuse', () => {
    expect(() => rtRequest.newDummyLink('a-name-longer-than-15')).toThrow(/invalid link name/);
    expect(() => rtRequest.getLinkByName('')).toThrow(/invalid link name/);
  });
});

describe('rtnetlink replies from the IPVS test kernel', () => {
  it('decodes the kube-ipvs0 link', () => {
    const [m] = splitMessages(fixture('rt-getlink-kube-ipvs0'));
    expect(m?.type).toBe(RTM_NEWLINK);
    const link = parseLink(m?.payload ?? new Uint8Array());
    expect(link).toMatchObject({ name: 'kube-ipvs0', kind: 'dummy' });
    expect(link.index).toBeGreaterThan(1);
  });

  it('decodes an address dump (IPv4 via IFA_LOCAL, IPv6 via IFA_ADDRESS)', () => {
    const msgs = splitMessages(fixture('rt-dump-addresses'));
    expect(msgs.every((m) => m.type === RTM_NEWADDR)).toBe(true);
    const addrs = msgs.map((m) => parseAddress(m.payload)).filter((a) => a !== null);
    expect(addrs.map((a) => `${a.address}/${a.prefixLength}`)).toEqual(expect.arrayContaining(['10.96.0.1/32', 'fd00:10:96::a/128', '127.0.0.1/8']));
  });
});
