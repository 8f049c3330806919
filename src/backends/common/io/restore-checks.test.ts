import { describe, expect, it } from 'vitest';
import { withChecks } from './restore-checks.ts';

const checks = [
  { table: 'mangle', line: '-S KUBE-PROXY-CANARY' },
  { table: 'nat', line: '-S KUBE-PROXY-CANARY' },
  { table: 'nat', line: '-C PREROUTING -j KUBE-SERVICES' },
  { table: 'filter', line: '-C INPUT -j KUBE-FIREWALL' },
];
const payload = '*filter\n:KUBE-FORWARD - [0:0]\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n';
const want =
  '*filter\n-C INPUT -j KUBE-FIREWALL\n:KUBE-FORWARD - [0:0]\nCOMMIT\n' +
  '*nat\n-S KUBE-PROXY-CANARY\n-C PREROUTING -j KUBE-SERVICES\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n' +
  '*mangle\n-S KUBE-PROXY-CANARY\nCOMMIT\n';

/** Every way of cutting the payload into chunks of one size. */
const cut = (text: string, size: number): string[] => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe('withChecks', () => {
  it.each([1, 2, 3, 5, 8, 13, 40, 1000])('puts each table’s checks after its header, chunks of %i', (size) => {
    const out = withChecks(cut(payload, size), checks);
    expect([...out].join('')).toBe(want);
    // Iterated again (the restore error reads the payload a second time): the same text.
    expect([...out].join('')).toBe(want);
  });

  it.each<[string, string, string]>([
    ['no checks', payload, payload],
    ['a string payload', payload, payload],
    ['a table header inside a rule is not a header', '*nat\n-A X -m comment --comment "*filter"\nCOMMIT\n', '*nat\n-A X -m comment --comment "*filter"\nCOMMIT\n'],
  ])('%s', (_name, input, expected) => {
    expect([...withChecks(input, [])].join('')).toBe(expected);
  });

  it('gives a last line without newline one only when a section follows', () => {
    expect([...withChecks('*nat\nCOMMIT', [{ table: 'nat', line: '-S A' }])].join('')).toBe('*nat\n-S A\nCOMMIT');
    expect([...withChecks('*nat\nCOMMIT', [{ table: 'raw', line: '-S A' }])].join('')).toBe('*nat\nCOMMIT\n*raw\n-S A\nCOMMIT\n');
  });
});
