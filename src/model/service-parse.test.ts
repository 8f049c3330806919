import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseService } from './service-parse.ts';
import type { IPFamily, ServicePort } from './types.ts';

function svc(spec: NonNullable<V1Service['spec']>, extra: Partial<V1Service> = {}): V1Service {
  return { metadata: { namespace: 'ns', name: 'web' }, spec, ...extra };
}

const both: IPFamily[] = ['IPv4', 'IPv6'];
const pick = (ports: readonly ServicePort[], fields: (keyof ServicePort)[]) =>
  ports.map((p) => Object.fromEntries(fields.map((f) => [f, p[f]])));

describe('parseService: skipped Services', () => {
  it.each([
    ['headless', svc({ clusterIP: 'None', ports: [{ port: 80 }] })],
    ['no clusterIP', svc({ ports: [{ port: 80 }] })],
    ['ExternalName', svc({ type: 'ExternalName', clusterIP: '10.96.0.1', externalName: 'x.example', ports: [{ port: 80 }] })],
  ])('%s gives no ports and no errors', (_n, s) => {
    const got = parseService(s, both);
    expect(got.ports.get('IPv4')).toEqual([]);
    expect(got.ports.get('IPv6')).toEqual([]);
    expect(got.errors).toEqual([]);
  });
});

describe('parseService: ports and families', () => {
  it('builds a full ServicePort', () => {
    const got = parseService(
      svc(
        {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.10',
          clusterIPs: ['10.96.0.10'],
          ipFamilies: ['IPv4'],
          ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
          externalIPs: ['192.0.2.10'],
          loadBalancerSourceRanges: [' 192.0.2.0/24 ', '198.51.100.7'],
          sessionAffinity: 'ClientIP',
          externalTrafficPolicy: 'Local',
          internalTrafficPolicy: 'Local',
          healthCheckNodePort: 32000,
          trafficDistribution: 'PreferClose',
        },
        {
          metadata: { namespace: 'ns', name: 'web', annotations: { 'service.kubernetes.io/topology-mode': 'Auto' } },
          status: { loadBalancer: { ingress: [{ ip: '192.0.2.100' }, { ip: '192.0.2.101', ipMode: 'Proxy' }, { hostname: 'lb.example' }] } },
        },
      ),
      ['IPv4'],
    );
    expect(got.errors).toEqual([]);
    expect(got.ports.get('IPv4')).toEqual([
      {
        name: 'ns/web:http',
        namespace: 'ns',
        serviceName: 'web',
        portName: 'http',
        protocol: 'TCP',
        family: 'IPv4',
        clusterIP: '10.96.0.10',
        port: 80,
        nodePort: 30080,
        externalIPs: ['192.0.2.10'],
        loadBalancerVIPs: ['192.0.2.100'],
        loadBalancerSourceRanges: ['192.0.2.0/24', '198.51.100.7/32'],
        sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 },
        externalPolicyLocal: true,
        internalPolicyLocal: true,
        healthCheckNodePort: 32000,
        trafficDistribution: 'PreferClose',
        topologyMode: 'Auto',
      },
    ]);
  });

  it('splits a dual-stack Service by family', () => {
    const got = parseService(
      svc({
        type: 'NodePort',
        clusterIP: 'fd00::10',
        clusterIPs: ['fd00::10', '10.96.0.10'],
        ipFamilies: ['IPv6', 'IPv4'],
        ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }],
        externalIPs: ['192.0.2.1', '2001:db8::1'],
        loadBalancerSourceRanges: ['10.0.0.0/8', '2001:db8::/32'],
      }),
      both,
    );
    expect(got.errors).toEqual([]);
    const fields: (keyof ServicePort)[] = ['name', 'family', 'clusterIP', 'protocol', 'externalIPs', 'loadBalancerSourceRanges'];
    expect(pick(got.ports.get('IPv4') ?? [], fields)).toEqual([
      { name: 'ns/web', family: 'IPv4', clusterIP: '10.96.0.10', protocol: 'UDP', externalIPs: ['192.0.2.1'], loadBalancerSourceRanges: ['10.0.0.0/8'] },
    ]);
    expect(pick(got.ports.get('IPv6') ?? [], fields)).toEqual([
      { name: 'ns/web', family: 'IPv6', clusterIP: 'fd00::10', protocol: 'UDP', externalIPs: ['2001:db8::1'], loadBalancerSourceRanges: ['2001:db8::/32'] },
    ]);
  });

  it('a single-stack Service has no ports in the other family', () => {
    const got = parseService(svc({ clusterIP: '10.96.0.1', ports: [{ port: 443 }] }), both);
    expect(got.ports.get('IPv4')?.length).toBe(1);
    expect(got.ports.get('IPv6')).toEqual([]);
  });

  it.each([
    ['Cluster external policy', { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' }, false, 0],
    ['Local on a ClusterIP Service is ignored', { type: 'ClusterIP', externalTrafficPolicy: 'Local' }, false, 0],
    ['Local on a NodePort Service, no health check', { type: 'NodePort', externalTrafficPolicy: 'Local', healthCheckNodePort: 31000 }, true, 0],
    ['Local on a LoadBalancer', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 31000 }, true, 31000],
  ])('%s', (_n, extra, local, hc) => {
    const got = parseService(svc({ clusterIP: '10.96.0.1', ports: [{ port: 80 }], ...extra }), ['IPv4']);
    expect(got.errors).toEqual([]);
    expect(got.ports.get('IPv4')?.[0]?.externalPolicyLocal).toBe(local);
    expect(got.ports.get('IPv4')?.[0]?.healthCheckNodePort).toBe(hc);
  });

  it.each([
    ['ClientIP with timeout', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, { type: 'ClientIP', timeoutSeconds: 60 }],
    ['ClientIP default timeout', { sessionAffinity: 'ClientIP' }, { type: 'ClientIP', timeoutSeconds: 10800 }],
    ['None', { sessionAffinity: 'None' }, { type: 'None', timeoutSeconds: 0 }],
    ['unset', {}, { type: 'None', timeoutSeconds: 0 }],
  ])('session affinity %s', (_n, extra, want) => {
    const got = parseService(svc({ clusterIP: '10.96.0.1', ports: [{ port: 80 }], ...extra }), ['IPv4']);
    expect(got.ports.get('IPv4')?.[0]?.sessionAffinity).toEqual(want);
  });

  it('uses the legacy topology-aware-hints annotation when topology-mode is unset', () => {
    const got = parseService(
      svc({ clusterIP: '10.96.0.1', ports: [{ port: 80 }] }, { metadata: { namespace: 'ns', name: 'web', annotations: { 'service.kubernetes.io/topology-aware-hints': 'auto' } } }),
      ['IPv4'],
    );
    expect(got.ports.get('IPv4')?.[0]?.topologyMode).toBe('auto');
  });
});

describe('parseService: invalid parts are dropped one by one', () => {
  it.each<[string, NonNullable<V1Service['spec']>, string[], string[]]>([
    [
      'bad port number and unknown protocol',
      { clusterIP: '10.96.0.1', ports: [{ name: 'a', port: 0 }, { name: 'b', port: 80, protocol: 'ICMP' }, { name: 'c', port: 81 }, { name: 'd', port: 70000 }] },
      ['ns/web:c'],
      ['Service ns/web: spec.ports[0] (a): invalid port 0', 'Service ns/web: spec.ports[1] (b): unsupported protocol "ICMP"', 'Service ns/web: spec.ports[3] (d): invalid port 70000'],
    ],
    [
      'bad nodePort and duplicate name',
      { clusterIP: '10.96.0.1', type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 99999 }, { name: 'b', port: 81 }, { name: 'b', port: 82 }] },
      ['ns/web:b'],
      ['Service ns/web: spec.ports[0] (a): invalid nodePort 99999', 'Service ns/web: spec.ports[2] (b): duplicate port name "b"'],
    ],
    [
      'bad externalIP and source range',
      { clusterIP: '10.96.0.1', externalIPs: ['nope', '192.0.2.1'], loadBalancerSourceRanges: ['10.0.0.0/40', '10.0.0.0/8'], ports: [{ port: 80 }] },
      ['ns/web'],
      ['Service ns/web: spec.externalIPs: invalid IP "nope"', 'Service ns/web: spec.loadBalancerSourceRanges: invalid CIDR "10.0.0.0/40"'],
    ],
    ['bad clusterIP', { clusterIP: '10.96.0.300', ports: [{ port: 80 }] }, [], ['Service ns/web: spec.clusterIPs: invalid IP "10.96.0.300"']],
    [
      'bad affinity timeout keeps the port with the default',
      { clusterIP: '10.96.0.1', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } }, ports: [{ port: 80 }] },
      ['ns/web'],
      ['Service ns/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 0 is not in 1..86400; using 10800'],
    ],
    [
      'LoadBalancer Local without healthCheckNodePort',
      { clusterIP: '10.96.0.1', type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] },
      ['ns/web'],
      ['Service ns/web: spec.healthCheckNodePort: missing or invalid for a LoadBalancer with externalTrafficPolicy Local'],
    ],
  ])('%s', (_n, spec, names, messages) => {
    const got = parseService(svc(spec), ['IPv4']);
    expect(got.ports.get('IPv4')?.map((p) => p.name)).toEqual(names);
    expect(got.errors.map((e) => e.message)).toEqual(messages);
    for (const e of got.errors) {
      expect(e.code).toBe('KP_ERR_OBJECT_INVALID');
      expect(e.key).toBe('Service ns/web');
    }
  });

  it('rejects a Service without a name', () => {
    const got = parseService({ metadata: { namespace: 'ns' }, spec: { clusterIP: '10.96.0.1', ports: [{ port: 80 }] } }, ['IPv4']);
    expect(got.ports.get('IPv4')).toEqual([]);
    expect(got.errors.map((e) => e.message)).toEqual(['Service ns/: metadata.name is missing']);
  });
});
