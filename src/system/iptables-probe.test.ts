// The probe's restore input (pure). The probe against the real tools of both back-ends is
// test/iptables-probe.test.ts.
import { describe, expect, it } from 'vitest';
import { probePayload, type ProbeLine } from './iptables-probe.ts';

describe('probePayload', () => {
  it.each<[string, ProbeLine[], string]>([
    ['nothing', [], ''],
    ['one table', [{ table: 'nat', line: '-S X' }], '*nat\n-S X\nCOMMIT\n'],
    [
      'tables in first-seen order, lines of a table kept together in order',
      [
        { table: 'filter', line: '-C INPUT -j A' },
        { table: 'nat', line: '-S B' },
        { table: 'filter', line: '-C OUTPUT -j A' },
      ],
      '*filter\n-C INPUT -j A\n-C OUTPUT -j A\nCOMMIT\n*nat\n-S B\nCOMMIT\n',
    ],
  ])('%s', (_name, lines, want) => {
    expect(probePayload(lines)).toBe(want);
  });
});
