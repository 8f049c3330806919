// Golden payloads for small cases (testdata/*.golden; UPDATE_GOLDEN=1 rewrites them), and
// structural checks every payload must pass.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProxyState } from '../../model/types.ts';
import { masqueradeMark, type RenderOptions } from './options.ts';
import { renderRules } from './render.ts';
import { checkPayload } from './testing/consistency.ts';
import { ep, makeState, svcPort, upstreamOptions } from './testing/fixtures.ts';
import { overallState } from './testing/upstream-cases.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';

function golden(name: string, text: string): void {
  const url = new URL(`./testdata/${name}.golden`, import.meta.url);
  if (update) writeFileSync(url, text);
  expect(text).toBe(readFileSync(url, 'utf8'));
}

const cases: ReadonlyArray<readonly [string, ProxyState, RenderOptions]> = [
  ['clusterip-basic', makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80'), [ep('10.180.0.1', 80)]]]), upstreamOptions()],
  ['clusterip-no-endpoints', makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80'), []]]), upstreamOptions()],
  ['nodeport-three-endpoints', makeState('IPv4', [[svcPort('ns1', 'svc1', '', { nodePort: 30080, protocol: 'UDP', port: 53 }), [ep('10.180.0.3', 53), ep('10.180.0.1', 53), ep('10.180.0.2', 53)]]]), upstreamOptions('IPv4', { nfacct: { localhostNodePortsAccepted: false, invalidDropped: false } })],
  ['etp-local', makeState('IPv4', [[svcPort('ns2', 'svc2', 'p80', { nodePort: 3001, loadBalancerVIPs: ['1.2.3.4'], externalPolicyLocal: true, healthCheckNodePort: 30000 }), [ep('10.180.0.1', 80), ep('10.180.0.2', 80, { isLocal: true })]]]), upstreamOptions()],
  ['itp-local-none', makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80', { internalPolicyLocal: true }), [ep('10.180.2.1', 80)]]]), upstreamOptions()],
  ['lb-fw-affinity', makeState('IPv4', [[svcPort('ns5', 'svc5', 'p80', { loadBalancerVIPs: ['5.6.7.8'], loadBalancerSourceRanges: ['192.168.0.0/24', '203.0.113.0/25'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 300 } }), [ep('10.180.0.3', 80), ep('10.180.0.4', 80)]]]), upstreamOptions()],
  ['ipv6-nodeport-sctp', makeState('IPv6', [[svcPort('ns1', 'svc1', 'p80', { family: 'IPv6', protocol: 'SCTP', nodePort: 3001, externalIPs: ['2001:db8:99::11'] }), [ep('fd00:10:180::1', 80)]]]), upstreamOptions('IPv6')],
  ['nodeport-addresses', makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80', { nodePort: 3001 }), [ep('10.180.0.1', 80)]]]), upstreamOptions('IPv4', { nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'], localhostNodePorts: false })],
  ['defaults-masqall-randomfully-liberal', makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80'), [ep('10.180.0.1', 80)]]]), upstreamOptions('IPv4', { masqueradeMark: masqueradeMark(14), masqueradeAll: true, randomFully: true, conntrackTCPLiberal: true, localhostNodePorts: false })],
  ['large-cluster-mode', makeState('IPv4', [[svcPort('ns1', 'svc1', 'p80'), [ep('10.180.0.1', 80), ep('10.180.0.2', 80)]]]), upstreamOptions('IPv4', { largeClusterEndpointsThreshold: 1 })],
];

describe('golden payloads', () => {
  it.each(cases)('%s', (name, state, opts) => {
    const { payload } = renderRules(state, opts);
    golden(name, payload.text);
    expect(payload.text).toBe(payload.filter + payload.nat);
    expect(checkPayload(payload.text)).toEqual([]);
  });

  it('upstream overall case is consistent', () => {
    expect(checkPayload(renderRules(overallState(), upstreamOptions()).payload.text)).toEqual([]);
  });

  it('the consistency check can fail', () => {
    expect(checkPayload('*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j KUBE-SVC-X\nCOMMIT\n')).toEqual(['nat: jump to missing chain KUBE-SVC-X']);
  });
});

describe('masqueradeMark', () => {
  it.each([
    [14, '0x00004000'],
    [0, '0x00000001'],
    [31, '0x80000000'],
  ])('bit %i formats like Go %%#08x: %s', (bit, want) => {
    expect(masqueradeMark(bit)).toBe(want);
  });
});

describe('stats', () => {
  it('counts rules, chains, large-cluster mode and no-local-endpoint services', () => {
    const { stats } = renderRules(overallState(), upstreamOptions());
    expect(stats).toMatchObject({ full: true, servicePorts: 6, servicePortsWritten: 6, endpoints: 6, largeClusterMode: false, filterRules: 10, deletedChains: 0, noLocalEndpointsInternal: 0, noLocalEndpointsExternal: 1 });
    expect(stats.natRulesTotal).toBe(stats.natRulesWritten);
  });
});
