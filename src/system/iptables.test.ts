import { describe, expect, it } from 'vitest';
import { ExecError } from '../errors.ts';
import { RestoreError, binaries, failingLine, savedChains } from './iptables.ts';

describe('iptables helpers', () => {
  it.each([
    ['iptables-restore: line 7 failed\n', 7],
    ["iptables-restore v1.8.9 (legacy): Couldn't load target `X'\n\nError occurred at line: 3\n", 3],
    ['something else\n', 0],
  ])('failingLine(%j) = %i', (stderr, want) => {
    expect(failingLine(stderr)).toBe(want);
  });

  it('RestoreError carries the failing rule and three lines of context', () => {
    const payload = ['*nat', ':A - [0:0]', ':B - [0:0]', '-A A -j B', '-A A -j NOPE', '-A B -j RETURN', 'COMMIT', ''].join('\n');
    const err = new RestoreError(new ExecError('iptables-restore', 2, 'Error occurred at line: 5\n'), payload);
    expect(err.line).toBe(5);
    expect(err.rule).toBe('-A A -j NOPE');
    expect(err.message).toContain('(line 5: -A A -j NOPE)');
    expect(err.context.split('\n')).toEqual([
      '  :A - [0:0]',
      '  :B - [0:0]',
      '  -A A -j B',
      '> -A A -j NOPE',
      '  -A B -j RETURN',
      '  COMMIT',
      '  ',
    ]);
    expect(err).toBeInstanceOf(ExecError);
  });

  it('lists saved chains and names binaries per family and back-end', () => {
    expect(savedChains('*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A X\nCOMMIT\n')).toEqual([
      'PREROUTING',
      'KUBE-SERVICES',
    ]);
    expect(binaries('IPv6', 'legacy')).toEqual({
      main: 'ip6tables-legacy',
      save: 'ip6tables-legacy-save',
      restore: 'ip6tables-legacy-restore',
    });
  });
});
