import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { EndpointSliceCache, mergeSlices, parseEndpointSlice, type ParsedSlice } from './endpoint-slice-cache.ts';

function es(endpoints: V1Endpoint[], extra: Partial<V1EndpointSlice> = {}, name = 's1'): V1EndpointSlice {
  return {
    metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': 'svc' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
    ...extra,
  };
}

describe('parseEndpointSlice: conditions', () => {
  it.each<[string, V1Endpoint['conditions'], { ready: boolean; serving: boolean; terminating: boolean }]>([
    ['all nil', undefined, { ready: true, serving: true, terminating: false }],
    ['ready false, serving nil defers to ready', { ready: false }, { ready: false, serving: false, terminating: false }],
    ['terminating and serving', { ready: false, serving: true, terminating: true }, { ready: false, serving: true, terminating: true }],
    ['ready nil, serving false', { serving: false }, { ready: true, serving: false, terminating: false }],
  ])('%s', (_n, conditions, want) => {
    const got = parseEndpointSlice(es([{ addresses: ['10.0.0.1'], conditions }]), 'n1');
    expect(got.slice?.endpoints[0]?.[0]).toMatchObject(want);
  });
});

describe('parseEndpointSlice: fields', () => {
  it('keeps node, zone, hints and locality', () => {
    const got = parseEndpointSlice(
      es([
        { addresses: ['10.0.0.1'], nodeName: 'n1', zone: 'z1', hints: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'n1' }] } },
        { addresses: ['10.0.0.2'], nodeName: 'n2', hints: { forZones: [] } },
      ]),
      'n1',
    );
    expect(got.errors).toEqual([]);
    expect(got.slice).toMatchObject({ key: 'ns/s1', service: 'ns/svc', family: 'IPv4', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] });
    expect(got.slice?.endpoints).toEqual([
      [
        { ip: '10.0.0.1', port: 8080, ready: true, serving: true, terminating: false, isLocal: true, nodeName: 'n1', zone: 'z1', zoneHints: ['z1'], nodeHints: ['n1'] },
        { ip: '10.0.0.2', port: 8080, ready: true, serving: true, terminating: false, isLocal: false, nodeName: 'n2', zone: '', zoneHints: undefined, nodeHints: undefined },
      ],
    ]);
  });

  it('node and zone names go through the interner, and its copies are what the endpoints hold', () => {
    const seen: string[] = [];
    const intern = (x: string): string => (seen.push(x), `interned:${x}`);
    const got = parseEndpointSlice(es([{ addresses: ['10.0.0.1'], nodeName: 'n1', zone: 'z1' }, { addresses: ['10.0.0.2'] }]), 'n1', intern);
    expect(seen).toEqual(['n1', 'z1', '', '']);
    expect(got.slice?.endpoints[0]?.map((e) => [e.nodeName, e.zone, e.isLocal])).toEqual([
      ['interned:n1', 'interned:z1', true],
      ['interned:', 'interned:', false],
    ]);
  });

  it('FQDN slices parse but carry no endpoints', () => {
    const got = parseEndpointSlice(es([{ addresses: ['db.example'] }], { addressType: 'FQDN' }), 'n1');
    expect(got.errors).toEqual([]);
    expect(got.slice?.family).toBeUndefined();
    expect(got.slice?.endpoints).toEqual([[]]);
  });

  it('reads the trigger-time annotation', () => {
    const s = es([]);
    s.metadata = { ...s.metadata, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-05-01T10:00:00Z' } };
    expect(parseEndpointSlice(s, 'n1').slice?.triggerTime).toBe(Date.parse('2024-05-01T10:00:00Z'));
  });
});

describe('parseEndpointSlice: invalid parts dropped one by one', () => {
  it.each<[string, V1EndpointSlice, string[] | undefined, string[]]>([
    [
      'bad addresses',
      es([{ addresses: ['10.0.0.1'] }, { addresses: [] }, { addresses: ['10.0.0.300'] }, { addresses: ['fd00::1'] }, { addresses: ['10.0.0.2'] }]),
      ['10.0.0.1', '10.0.0.2'],
      [
        'EndpointSlice ns/s1: endpoints[1]: no addresses',
        'EndpointSlice ns/s1: endpoints[2]: invalid IP "10.0.0.300"',
        'EndpointSlice ns/s1: endpoints[3]: IPv6 address fd00::1 in an IPv4 slice',
      ],
    ],
    [
      'bad ports',
      es([{ addresses: ['10.0.0.1'] }], { ports: [{ name: 'a', port: 0 }, { name: 'b', port: 70000 }, { name: 'c', port: 80, protocol: 'ICMP' }, { name: 'd', port: 81 }] }),
      ['10.0.0.1'],
      ['EndpointSlice ns/s1: ports[0] (a): invalid port 0', 'EndpointSlice ns/s1: ports[1] (b): invalid port 70000', 'EndpointSlice ns/s1: ports[2] (c): unsupported protocol "ICMP"'],
    ],
    ['missing service label', { ...es([]), metadata: { namespace: 'ns', name: 's1' } }, undefined, ['EndpointSlice ns/s1: label kubernetes.io/service-name is missing']],
    ['unknown addressType', es([], { addressType: 'IPv5' }), undefined, ['EndpointSlice ns/s1: unsupported addressType "IPv5"']],
  ])('%s', (_n, input, ipsWant, errs) => {
    const got = parseEndpointSlice(input, 'n1');
    expect(got.slice?.endpoints[0]?.map((e) => e.ip)).toEqual(ipsWant);
    expect(got.errors.map((e) => e.message)).toEqual(errs);
  });
});

const parsed = (s: V1EndpointSlice): ParsedSlice => {
  const p = parseEndpointSlice(s, 'n1').slice;
  if (p === undefined) throw new Error('test slice does not parse');
  return p;
};

describe('mergeSlices', () => {
  it('merges per port across slices, deduplicates, sorts by ip:port and skips other families', () => {
    const a = parsed(es([{ addresses: ['10.0.0.9'] }, { addresses: ['10.0.0.10'], conditions: { terminating: true, ready: false } }], {}, 'a'));
    const b = parsed(
      es([{ addresses: ['10.0.0.10'] }, { addresses: ['10.0.0.1'] }], { ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }] }, 'b'),
    );
    const v6 = parsed(es([{ addresses: ['fd00::1'] }], { addressType: 'IPv6' }, 'c'));
    const got = mergeSlices('ns/svc', [b, v6, a], 'IPv4');
    expect([...got.keys()].sort()).toEqual(['ns/svc:http', 'ns/svc:metrics']);
    expect(got.get('ns/svc:http')?.map((e) => `${e.ip}:${e.port}:${e.terminating}`)).toEqual(['10.0.0.10:8080:false', '10.0.0.1:8080:false', '10.0.0.9:8080:false']);
    expect(got.get('ns/svc:metrics')?.map((e) => e.ip)).toEqual(['10.0.0.10', '10.0.0.1']);
    expect(mergeSlices('ns/svc', [b, v6, a], 'IPv6').get('ns/svc:http')?.map((e) => e.ip)).toEqual(['fd00::1']);
  });

  it('the merged lists hold the parsed endpoint objects themselves (one copy in memory)', () => {
    const s = parsed(es([{ addresses: ['10.0.0.1'] }], { ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }] }));
    const got = mergeSlices('ns/svc', [s], 'IPv4');
    expect(got.get('ns/svc:http')?.[0]).toBe(s.endpoints[0]?.[0]);
    expect(got.get('ns/svc:metrics')?.[0]).toBe(s.endpoints[1]?.[0]);
    expect(got.get('ns/svc:metrics')?.[0]?.port).toBe(9090);
  });

  it('an unnamed port maps to the unnamed service port name', () => {
    const s = parsed(es([{ addresses: ['10.0.0.1'] }], { ports: [{ port: 53, protocol: 'UDP' }] }));
    expect([...mergeSlices('ns/svc', [s], 'IPv4').keys()]).toEqual(['ns/svc']);
  });
});

describe('EndpointSliceCache', () => {
  it('tracks slices per service, including a slice moving to another service', () => {
    const cache = new EndpointSliceCache();
    expect(cache.set(parsed(es([{ addresses: ['10.0.0.1'] }])))).toEqual(['ns/svc']);
    const moved = es([{ addresses: ['10.0.0.1'] }]);
    moved.metadata = { ...moved.metadata, labels: { 'kubernetes.io/service-name': 'other' } };
    expect(cache.set(parsed(moved))).toEqual(['ns/svc', 'ns/other']);
    expect(cache.endpoints('ns/svc', 'IPv4').size).toBe(0);
    expect(cache.endpoints('ns/other', 'IPv4').get('ns/other:http')?.length).toBe(1);
    expect(cache.delete('ns/s1')).toEqual(['ns/other']);
    expect(cache.delete('ns/s1')).toEqual([]);
    expect(cache.get('ns/s1')).toBeUndefined();
  });
});
