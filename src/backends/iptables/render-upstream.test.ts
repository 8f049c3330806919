// Our payload for upstream's TestOverallIPTablesRules services, put in upstream's canonical
// order, must equal upstream's expected text byte for byte (testdata/upstream-overall.expected
// is copied verbatim from kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderRules } from './render.ts';
import { sortLikeUpstream, upstreamOptions } from './testing/fixtures.ts';
import { overallState } from './testing/upstream-cases.ts';

const expected = readFileSync(new URL('./testdata/upstream-overall.expected', import.meta.url), 'utf8');

describe('upstream TestOverallIPTablesRules', () => {
  it('renders exactly upstream rule text', () => {
    const { payload } = renderRules(overallState(), upstreamOptions());
    expect(sortLikeUpstream(payload.text)).toBe(expected);
  });

  it('fails when a single rule differs (the comparison can fail)', () => {
    const { payload } = renderRules(overallState(), upstreamOptions('IPv4', { masqueradeMark: '0x8000' }));
    expect(sortLikeUpstream(payload.text)).not.toBe(expected);
  });
});
