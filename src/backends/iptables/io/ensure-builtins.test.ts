// The probe payload for jumps and canaries (pure). ensureBuiltins against real iptables in a
// namespace is test/iptables-probe.test.ts.
import { describe, expect, it } from 'vitest';
import { probePayload } from '../../../system/iptables-probe.ts';
import { kubeletJumps, requiredJumps } from '../jumps.ts';
import { builtinsProbeLines } from './ensure-builtins.ts';

describe('builtinsProbeLines', () => {
  it('asks for every canary, then every jump as a -C in its table, one section per table', () => {
    const jumps = [requiredJumps()[9], kubeletJumps()[0]].filter((j) => j !== undefined);
    expect(probePayload(builtinsProbeLines(jumps)).split('\n')).toEqual([
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

  it.each([
    ['no canaries, no jumps', [], ''],
    ['one canary', ['nat'], '*nat\n-S KUBE-PROXY-CANARY\nCOMMIT\n'],
  ])('%s', (_name, tables, want) => {
    expect(probePayload(builtinsProbeLines([], tables))).toBe(want);
  });
});
