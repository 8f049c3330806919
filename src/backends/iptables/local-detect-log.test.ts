import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../../sync/testing/recorders.ts';
import { LocalDetectorLog } from './local-detect-log.ts';
import type { LocalDetector } from './options.ts';

const bySource = (cidr: string): LocalDetector => ({ ifLocal: `-s ${cidr}`, ifNotLocal: `! -s ${cidr}` });

describe('LocalDetectorLog', () => {
  it.each([
    {
      name: 'logs each family once while its detector stays the same',
      notes: [['IPv4', bySource('10.244.1.0/24')], ['IPv6', bySource('fd00:10:244:1::/64')], ['IPv4', bySource('10.244.1.0/24')], ['IPv6', bySource('fd00:10:244:1::/64')]],
      logged: [['IPv4', '-s 10.244.1.0/24'], ['IPv6', '-s fd00:10:244:1::/64']],
    },
    {
      name: 'a family without a detector is logged as such, then again when the Node podCIDR arrives or changes',
      notes: [['IPv6', null], ['IPv6', null], ['IPv6', bySource('fd00:10:244:1::/64')], ['IPv6', bySource('fd00:10:244:7::/64')]],
      logged: [['IPv6', null], ['IPv6', '-s fd00:10:244:1::/64'], ['IPv6', '-s fd00:10:244:7::/64']],
    },
  ] as const)('$name', ({ notes, logged }) => {
    const log = recordingLogger();
    const d = new LocalDetectorLog(log, 'NodeCIDR');
    for (const [family, detector] of notes) d.note(family, detector);
    expect(log.entries.map((e) => [e.fields['family'], e.fields['match'] ?? null])).toEqual(logged);
    expect(log.entries.every((e) => e.level === 'info' && e.fields['detectLocalMode'] === 'NodeCIDR')).toBe(true);
    expect(log.entries.filter((e) => e.fields['match'] === undefined).every((e) => e.msg.startsWith('no local traffic detector'))).toBe(true);
  });
});
