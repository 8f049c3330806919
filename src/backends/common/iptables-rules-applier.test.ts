import { describe, expect, it } from 'vitest';
import { createDryRunApplier } from './iptables-rules-applier.ts';

describe('createDryRunApplier', () => {
  it.each([
    ['IPv4', '# IPv4 iptables-restore --noflush --counters\n'],
    ['IPv6', '# IPv6 ip6tables-restore --noflush --counters\n'],
  ] as const)('%s: names the command an operator would run, then the payload whole', async (family, header) => {
    const out: string[] = [];
    const applier = createDryRunApplier(family, (t) => out.push(t));
    await applier.restore(['*nat\n', 'COMMIT\n']);
    expect(out).toEqual([`${header}*nat\nCOMMIT\n`]);
    expect(applier.payloads).toEqual(['*nat\nCOMMIT\n']);
  });
});
