// The local-traffic detector in nft syntax, per detect-local mode (upstream localdetector.go).
import { describe, expect, it } from 'vitest';
import { nftLocalMatch, nftMark } from './options.ts';

describe('nft local-traffic match', () => {
  it.each([
    [{ kind: 'cidr', cidr: '10.0.0.0/8' } as const, 'IPv4', 'ip saddr 10.0.0.0/8', 'ip saddr != 10.0.0.0/8'],
    [{ kind: 'cidr', cidr: 'fd00:10::/64' } as const, 'IPv6', 'ip6 saddr fd00:10::/64', 'ip6 saddr != fd00:10::/64'],
    [{ kind: 'interface', name: 'cbr0' } as const, 'IPv4', 'iifname "cbr0"', 'iifname != "cbr0"'],
    [{ kind: 'interface-prefix', prefix: 'veth' } as const, 'IPv6', 'iifname "veth*"', 'iifname != "veth*"'],
  ])('%o (%s)', (d, family, ifLocal, ifNotLocal) => {
    expect(nftLocalMatch(d, family as 'IPv4' | 'IPv6')).toEqual({ ifLocal, ifNotLocal });
  });

  it('none without a detector, and the mark as upstream formats it', () => {
    expect(nftLocalMatch(null, 'IPv4')).toBeNull();
    expect(nftMark(14)).toBe('0x00004000');
  });
});
