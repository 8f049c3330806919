// The decision half of the family check (the probe itself runs the real iptables binaries in
// test/iptables-ipv6-only.test.ts and test/iptables-ipv6-gaps.test.ts, on nodes whose IPv4
// iptables, resp. ip6tables, is not installed).
import { describe, expect, it } from 'vitest';
import { KubeProxyError } from '../../../errors.ts';
import type { IPFamily } from '../../../model/types.ts';
import { recordingLogger } from '../../../sync/testing/recorders.ts';
import { requirePrimaryFamily, supportedFamilies, type FamilyProbe } from './iptables-families.ts';

const ok = (family: IPFamily): FamilyProbe => ({ family, error: null });
const bad = (family: IPFamily): FamilyProbe => ({ family, error: `${family === 'IPv4' ? 'iptables' : 'ip6tables'}-nft: not found` });

describe('supportedFamilies', () => {
  it.each([
    { name: 'both answer: dual-stack, nothing logged', probes: [ok('IPv4'), ok('IPv6')], families: ['IPv4', 'IPv6'], skipped: [] },
    { name: 'no ip6tables: IPv4 alone', probes: [ok('IPv4'), bad('IPv6')], families: ['IPv4'], skipped: ['IPv6'] },
    { name: 'no IPv4 iptables (IPv6-only host): IPv6 alone', probes: [bad('IPv4'), ok('IPv6')], families: ['IPv6'], skipped: ['IPv4'] },
    { name: 'a kernel without IPv6: IPv4 probed alone', probes: [ok('IPv4')], families: ['IPv4'], skipped: [] },
  ] as const)('$name', ({ probes, families, skipped }) => {
    const log = recordingLogger();
    expect(supportedFamilies(probes, log)).toEqual(families);
    const logged = log.entries.filter((e) => e.msg.startsWith('no iptables support'));
    expect(logged.map((e) => e.fields['ipFamily'])).toEqual(skipped);
    expect(logged.every((e) => e.level === 'info' && typeof e.fields['error'] === 'string')).toBe(true);
  });

  it('fails with KP_ERR_KERNEL_MISSING, naming every probe, when no family answers', () => {
    const run = () => supportedFamilies([bad('IPv4'), bad('IPv6')], recordingLogger());
    expect(run).toThrow(KubeProxyError);
    expect(run).toThrow(/iptables-nft: not found.*ip6tables-nft: not found/);
    try {
      run();
    } catch (err) {
      expect(KubeProxyError.is(err) && err.code).toBe('KP_ERR_KERNEL_MISSING');
    }
  });
});

describe('requirePrimaryFamily', () => {
  it.each([
    { primary: 'IPv6', families: ['IPv6'], fails: false },
    { primary: 'IPv4', families: ['IPv4', 'IPv6'], fails: false },
    { primary: 'IPv4', families: ['IPv6'], fails: true },
    { primary: 'IPv6', families: ['IPv4'], fails: true },
  ] as const)('primary $primary with $families: fails=$fails', ({ primary, families, fails }) => {
    const run = () => requirePrimaryFamily(primary, families);
    if (fails) expect(run).toThrow(`no support for primary IP family ${primary}`);
    else expect(run).not.toThrow();
  });
});
