// What ensureBuiltins asks and writes (pure parts; `check` stands for iptables' own `-C`). Against
// real iptables in a namespace: test/iptables-probe.test.ts.
import { describe, expect, it } from 'vitest';
import { probePayload } from '../../../system/iptables-probe.ts';
import { argsToRestore, kubeletJumps, requiredJumps, type JumpRule } from '../../iptables/jumps.ts';
import { builtinsProbeLines, missingBuiltins, savedTable, type SavedTable } from './ensure-builtins.ts';

const portals = requiredJumps()[9] as JumpRule; // nat OUTPUT -> KUBE-SERVICES
const prerouting = requiredJumps()[10] as JumpRule; // nat PREROUTING -> KUBE-SERVICES
const firewall = kubeletJumps()[0] as JumpRule; // filter INPUT -> KUBE-FIREWALL
const rule = (j: JumpRule): string => `-A ${j.chain} ${argsToRestore(j.args)}`;

describe('builtinsProbeLines', () => {
  it('asks for every canary, then every jump as a -C in its table, one section per table', () => {
    expect(probePayload(builtinsProbeLines([portals, firewall])).split('\n')).toEqual([
      '*mangle',
      '-S KUBE-PROXY-CANARY',
      'COMMIT',
      '*nat',
      '-S KUBE-PROXY-CANARY',
      '-C OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'COMMIT',
      '*filter',
      '-S KUBE-PROXY-CANARY',
      '-C INPUT -j KUBE-FIREWALL',
      'COMMIT',
      '',
    ]);
  });
});

describe('savedTable', () => {
  it('keeps every chain and only the rules of the chains jumped from', () => {
    const saved = '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n' +
      `${rule(prerouting)}\n-A OUTPUT -j FOREIGN\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n`;
    const t = savedTable(saved, new Set(['PREROUTING', 'OUTPUT']));
    expect([...t.chains]).toEqual(['PREROUTING', 'OUTPUT', 'KUBE-SERVICES']);
    expect([...t.rules]).toEqual([rule(prerouting), '-A OUTPUT -j FOREIGN']);
  });
});

describe('missingBuiltins', () => {
  const canaries = (...tables: string[]): [string, SavedTable][] =>
    tables.map((t) => [t, { chains: new Set(['KUBE-PROXY-CANARY']), rules: new Set<string>() }]);
  const cases: {
    name: string;
    saved: [string, SavedTable][];
    checks: Record<string, boolean>;
    want: string[];
    asked: string[];
  }[] = [
    {
      name: 'empty tables (first start): each target created once, before its first jump; no -C asked',
      saved: [],
      checks: {},
      want: [
        'nat -N KUBE-SERVICES',
        'nat -I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        'nat -I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        'filter -N KUBE-FIREWALL',
        'filter -I INPUT 1 -j KUBE-FIREWALL',
        'mangle -N KUBE-PROXY-CANARY',
        'nat -N KUBE-PROXY-CANARY',
        'filter -N KUBE-PROXY-CANARY',
      ],
      asked: [],
    },
    {
      name: 'everything saved in our spelling: nothing written, nothing asked',
      saved: [
        ...canaries('mangle'),
        ['nat', { chains: new Set(['KUBE-SERVICES', 'KUBE-PROXY-CANARY']), rules: new Set([rule(portals), rule(prerouting)]) }],
        ['filter', { chains: new Set(['KUBE-FIREWALL', 'KUBE-PROXY-CANARY']), rules: new Set([rule(firewall)]) }],
      ],
      checks: {},
      want: [],
      asked: [],
    },
    {
      name: 'a jump saved in another spelling counts when -C finds it; a missing one is inserted',
      saved: [
        ...canaries('mangle', 'filter'),
        ['nat', { chains: new Set(['KUBE-SERVICES']), rules: new Set<string>() }],
        ['filter', { chains: new Set(['KUBE-FIREWALL', 'KUBE-PROXY-CANARY']), rules: new Set([rule(firewall)]) }],
      ],
      checks: { [`nat -C OUTPUT ${argsToRestore(portals.args)}`]: true },
      want: ['nat -I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'nat -N KUBE-PROXY-CANARY'],
      asked: [`nat -C OUTPUT ${argsToRestore(portals.args)}`, `nat -C PREROUTING ${argsToRestore(prerouting.args)}`],
    },
  ];
  it.each(cases)('$name', async ({ saved, checks, want, asked }) => {
    const seen: string[] = [];
    const check = async (table: string, line: string): Promise<boolean> => {
      seen.push(`${table} ${line}`);
      return checks[`${table} ${line}`] ?? false;
    };
    const lines = await missingBuiltins([portals, prerouting, firewall], new Map(saved), check);
    expect(lines.map((l) => `${l.table} ${l.line}`)).toEqual(want);
    expect(seen).toEqual(asked);
  });
});
