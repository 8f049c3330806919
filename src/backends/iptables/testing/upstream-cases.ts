// The service set of upstream TestOverallIPTablesRules (proxier_test.go), in our model.
import type { ProxyState } from '../../../model/types.ts';
import { ep, makeState, svcPort } from './fixtures.ts';

export function overallState(over: Partial<ProxyState> = {}): ProxyState {
  return makeState('IPv4', [
    [svcPort('ns1', 'svc1', 'p80', { clusterIP: '172.30.0.41' }), [ep('10.180.0.1', 80)]],
    [
      svcPort('ns2', 'svc2', 'p80', {
        clusterIP: '172.30.0.42', nodePort: 3001, loadBalancerVIPs: ['1.2.3.4'], externalIPs: ['192.168.99.22'],
        externalPolicyLocal: true, healthCheckNodePort: 30000,
      }),
      [ep('10.180.0.2', 80)],
    ],
    [svcPort('ns3', 'svc3', 'p80', { clusterIP: '172.30.0.43', nodePort: 3003 }), [ep('10.180.0.3', 80)]],
    [
      svcPort('ns4', 'svc4', 'p80', { clusterIP: '172.30.0.44', externalIPs: ['192.168.99.33'] }),
      [ep('10.180.0.4', 80), ep('10.180.0.5', 80, { isLocal: true })],
    ],
    [
      svcPort('ns5', 'svc5', 'p80', {
        clusterIP: '172.30.0.45', nodePort: 3002, loadBalancerVIPs: ['5.6.7.8'], loadBalancerSourceRanges: ['203.0.113.0/25'],
        sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 },
      }),
      [ep('10.180.0.3', 80)],
    ],
    [svcPort('ns6', 'svc6', 'p80', { clusterIP: '172.30.0.46' }), []],
  ], over);
}
