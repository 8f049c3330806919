import { describe, expect, it } from 'vitest';
import { externalListenerName, planBackends, planListeners, type ListenerState } from './plan.ts';
import { ep, state, svc } from './testing/fixtures.ts';

describe('planListeners', () => {
  const tcp: ListenerState = { protocol: 'TCP' };
  const udp: ListenerState = { protocol: 'UDP' };
  it.each([
    { name: 'opens a new TCP service port', services: [svc({ name: 'ns/a:http' })], current: {}, open: ['ns/a:http/TCP'], close: [] },
    { name: 'keeps an unchanged one', services: [svc({ name: 'ns/a:http' })], current: { 'ns/a:http': tcp }, open: [], close: [] },
    {
      name: 'reopens on protocol change',
      services: [svc({ name: 'ns/a:dns', protocol: 'UDP' })],
      current: { 'ns/a:dns': tcp },
      open: ['ns/a:dns/UDP'],
      close: ['ns/a:dns'],
    },
    { name: 'closes a removed one', services: [], current: { 'ns/gone': udp }, open: [], close: ['ns/gone'] },
    { name: 'skips headless', services: [svc({ name: 'ns/h', clusterIP: 'None' })], current: {}, open: [], close: [] },
    { name: 'closes a port that became headless', services: [svc({ name: 'ns/h', clusterIP: 'None' })], current: { 'ns/h': tcp }, open: [], close: ['ns/h'] },
  ])('$name', ({ services, current, open, close }) => {
    const p = planListeners(new Map(services.map((s) => [s.name, s])), new Map(Object.entries(current)));
    expect(p.open.map((o) => `${o.name}/${o.protocol}`)).toEqual(open);
    expect(p.close).toEqual(close);
    expect(p.unsupported).toEqual([]);
  });

  it.each([
    {
      name: 'externalTrafficPolicy Local with a NodePort: a second listener for external traffic',
      services: [svc({ name: 'ns/a:http', externalPolicyLocal: true, nodePort: 30080 })],
      current: {},
      open: ['ns/a:http/TCP', 'ns/a:http#external/TCP'],
      close: [],
    },
    {
      name: 'externalTrafficPolicy Local without any external address: none',
      services: [svc({ name: 'ns/a:http', externalPolicyLocal: true })],
      current: {},
      open: ['ns/a:http/TCP'],
      close: [],
    },
    {
      name: 'back to Cluster: the external listener closes',
      services: [svc({ name: 'ns/a:http', nodePort: 30080 })],
      current: { 'ns/a:http': tcp, 'ns/a:http#external': tcp },
      open: [],
      close: ['ns/a:http#external'],
    },
    {
      name: 'protocol change reopens both',
      services: [svc({ name: 'ns/a:dns', protocol: 'UDP', externalPolicyLocal: true, externalIPs: ['203.0.113.5'] })],
      current: { 'ns/a:dns': tcp, 'ns/a:dns#external': tcp },
      open: ['ns/a:dns/UDP', 'ns/a:dns#external/UDP'],
      close: ['ns/a:dns', 'ns/a:dns#external'],
    },
  ])('$name', ({ services, current, open, close }) => {
    const p = planListeners(new Map(services.map((s) => [s.name, s])), new Map(Object.entries(current)));
    expect(p.open.map((o) => `${o.name}/${o.protocol}`)).toEqual(open);
    expect(p.close).toEqual(close);
  });

  it('reports SCTP as unsupported and opens nothing for it', () => {
    const p = planListeners(new Map([['ns/s', svc({ name: 'ns/s', protocol: 'SCTP' })]]), new Map());
    expect(p.open).toEqual([]);
    expect(p.unsupported).toEqual([{ name: 'ns/s', reason: 'protocol SCTP is not supported in userspace mode' }]);
  });
});

describe('planBackends', () => {
  it.each([
    {
      name: 'ready endpoints, sorted and deduplicated',
      service: svc({ name: 'ns/a' }),
      endpoints: [ep('10.244.2.11'), ep('10.244.1.10'), ep('10.244.2.11'), ep('10.244.2.12', { ready: false, serving: false })],
      want: ['10.244.1.10:8080', '10.244.2.11:8080'],
    },
    {
      name: 'internalTrafficPolicy Local keeps local endpoints',
      service: svc({ name: 'ns/a', internalPolicyLocal: true }),
      endpoints: [ep('10.244.2.11'), ep('10.244.1.10', { isLocal: true, nodeName: 'node-1' })],
      want: ['10.244.1.10:8080'],
    },
    {
      name: 'serving-terminating endpoints when none is ready',
      service: svc({ name: 'ns/a' }),
      endpoints: [ep('10.244.2.11', { ready: false, terminating: true })],
      want: ['10.244.2.11:8080'],
    },
    { name: 'no endpoints', service: svc({ name: 'ns/a' }), endpoints: [], want: [] },
  ])('$name', ({ service, endpoints, want }) => {
    const b = planBackends(state([service], { [service.name]: endpoints }));
    expect(b.get(service.name)?.targets.map((t) => t.key)).toEqual(want);
    expect(b.get(service.name)?.affinity).toEqual(service.sessionAffinity);
  });

  it.each([
    {
      name: 'externalTrafficPolicy Local: the external listener gets the local endpoints, the main one all',
      service: svc({ name: 'ns/a', externalPolicyLocal: true, nodePort: 30080 }),
      endpoints: [ep('10.244.2.11'), ep('10.244.1.10', { isLocal: true, nodeName: 'node-1' })],
      main: ['10.244.1.10:8080', '10.244.2.11:8080'],
      external: ['10.244.1.10:8080'],
    },
    {
      name: 'no local endpoint: the external listener has no target (the connection is closed)',
      service: svc({ name: 'ns/a', externalPolicyLocal: true, loadBalancerVIPs: ['198.51.100.7'] }),
      endpoints: [ep('10.244.2.11')],
      main: ['10.244.2.11:8080'],
      external: [],
    },
    {
      name: 'both policies Local: local everywhere',
      service: svc({ name: 'ns/a', externalPolicyLocal: true, internalPolicyLocal: true, nodePort: 30080 }),
      endpoints: [ep('10.244.2.11'), ep('10.244.1.10', { isLocal: true, nodeName: 'node-1' })],
      main: ['10.244.1.10:8080'],
      external: ['10.244.1.10:8080'],
    },
  ])('$name', ({ service, endpoints, main, external }) => {
    const b = planBackends(state([service], { [service.name]: endpoints }));
    expect(b.get(service.name)?.targets.map((t) => t.key)).toEqual(main);
    expect(b.get(externalListenerName(service.name))?.targets.map((t) => t.key)).toEqual(external);
  });

  it('leaves out headless and SCTP service ports', () => {
    const b = planBackends(state([svc({ name: 'ns/h', clusterIP: 'None' }), svc({ name: 'ns/s', protocol: 'SCTP' })]));
    expect([...b.keys()]).toEqual([]);
  });
});
