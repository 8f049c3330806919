import { describe, expect, it } from 'vitest';
import { ExecError } from '../errors.ts';
import { RestoreError, binaries, failingLine, payloadLines, savedChains } from './iptables.ts';

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

  it('RestoreError finds the same line in a chunked payload, lines split across chunks', () => {
    const payload = ['*nat', ':A - [0:0]', ':B - [0:0]', '-A A -j B', '-A A -j NOPE', '-A B -j RETURN', 'COMMIT', ''].join('\n');
    const whole = new RestoreError(new ExecError('iptables-restore', 2, 'Error occurred at line: 5\n'), payload);
    for (const size of [1, 3, 7, 40]) {
      const chunks: string[] = [];
      for (let i = 0; i < payload.length; i += size) chunks.push(payload.slice(i, i + size));
      const err = new RestoreError(new ExecError('iptables-restore', 2, 'Error occurred at line: 5\n'), chunks);
      expect([err.line, err.rule, err.context]).toEqual([whole.line, whole.rule, whole.context]);
    }
  });

  it.each([
    [['a\nb', '\nc\n'], 1, 2, ['a', 'b']],
    [['a\nb', '\nc\n'], 3, 9, ['c', '']],
    [['a\nb', 'c'], 2, 2, ['bc']],
    [['x'], 2, 4, []],
  ])('payloadLines(%j, %i, %i) = %j', (chunks, from, to, want) => {
    expect(payloadLines(chunks, from, to)).toEqual(want);
    expect(payloadLines(chunks.join(''), from, to)).toEqual(chunks.join('').split('\n').slice(from - 1, to));
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
