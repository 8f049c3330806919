// Upstream TestOverallNFTablesRules inputs rendered in the v1.36 layout; the table they leave is
// compared with testdata/overall-v136.expected as upstream compares (sortNFTablesTransaction).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { overallState } from '../iptables/testing/upstream-cases.ts';
import { sortTransaction } from './testing/fake-table.ts';
import { renderedTable, upstreamNftOptions } from './testing/fixtures.ts';

const expected = sortTransaction(readFileSync(new URL('./testdata/overall-v136.expected', import.meta.url), 'utf8'));

describe('upstream TestOverallNFTablesRules, v1.36 layout', () => {
  it('leaves exactly the expected table', () => {
    const { dump } = renderedTable({ state: overallState(), opts: upstreamNftOptions(), nowMs: 0 });
    expect(dump).toBe(expected);
  });

  it('can fail: another mark changes the text', () => {
    const { dump } = renderedTable({ state: overallState(), opts: upstreamNftOptions('IPv4', { masqueradeMark: '0x8000' }), nowMs: 0 });
    expect(dump).not.toBe(expected);
  });

  it('writes no ServiceCIDR drop rule without ServiceCIDRs, as upstream', () => {
    const { dump } = renderedTable({ state: overallState(), opts: upstreamNftOptions('IPv4', { serviceCIDRs: [] }), nowMs: 0 });
    expect(dump).not.toContain('unallocated ClusterIPs');
    expect(dump.split('\n').length).toBe(expected.split('\n').length - 1);
  });

  it('batched elements leave the same table', () => {
    const { dump } = renderedTable({ state: overallState(), opts: upstreamNftOptions('IPv4', { batchElements: true }), nowMs: 0 });
    expect(dump).toBe(expected);
  });
});
