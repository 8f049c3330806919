import { describe, expect, it } from 'vitest';
import type { ServicePort, ServicePortName } from '../../model/types.ts';
import { externalListenerName } from './plan.ts';
import { planPortals, portalRulesNeeded, servedServicePorts, type RulesNeededInput } from './portal-plan.ts';
import { svc } from './testing/fixtures.ts';

describe('portalRulesNeeded', () => {
  const quiet: RulesNeededInput = { full: false, lastOk: true, claimsOk: true, opened: 0, closed: 0, changedServices: 0 };
  it.each<[string, Partial<RulesNeededInput>, boolean]>([
    ['an endpoint change alone only re-balances', {}, false],
    ['a full sync', { full: true }, true],
    ['after a failed sync', { lastOk: false }, true],
    ['after a node port could not be claimed', { claimsOk: false }, true],
    ['a listener opened', { opened: 1 }, true],
    ['a listener closed', { closed: 1 }, true],
    ['a Service changed', { changedServices: 1 }, true],
  ])('%s', (_label, over, want) => {
    expect(portalRulesNeeded({ ...quiet, ...over })).toBe(want);
  });
});

describe('servedServicePorts', () => {
  it('the Service ports with a listener, in listener order; a listener whose Service is gone serves none', () => {
    const a = svc({ name: 'ns/a:http' });
    const b = svc({ name: 'ns/b:http' });
    const services = new Map<ServicePortName, ServicePort>([[a.name, a], [b.name, b]]);
    const listeners = new Map<ServicePortName, unknown>([[b.name, {}], ['ns/gone:http', {}], [a.name, {}]]);
    expect(servedServicePorts(listeners, services).map((s) => s.name)).toEqual(['ns/b:http', 'ns/a:http']);
  });
});

describe('planPortals', () => {
  const a = svc({ name: 'ns/a:http' });
  const local = svc({ name: 'ns/l:http', nodePort: 30080, externalPolicyLocal: true });
  it.each<[string, [ServicePortName, number][], ServicePort[], { name: string; proxyPort: number; externalProxyPort?: number }[]]>([
    ['one portal per listener with its proxy port', [[a.name, 40001]], [a], [{ name: 'ns/a:http', proxyPort: 40001 }]],
    [
      'the external listener goes with its service port, not as a portal of its own',
      [[local.name, 40002], [externalListenerName(local.name), 40003]],
      [local],
      [{ name: 'ns/l:http', proxyPort: 40002, externalProxyPort: 40003 }],
    ],
    ['a listener whose service port is not usable gets no portal', [[a.name, 40001], [local.name, 40002]], [local], [{ name: 'ns/l:http', proxyPort: 40002 }]],
  ])('%s', (_label, listeners, usable, want) => {
    const portals = planPortals(new Map(listeners.map(([n, port]) => [n, { port }])), new Map(usable.map((s) => [s.name, s])));
    expect(portals.map((p) => ({ name: p.service.name, proxyPort: p.proxyPort, ...(p.externalProxyPort === undefined ? {} : { externalProxyPort: p.externalProxyPort }) }))).toEqual(want);
  });

  it('the portal carries the usable service port (node ports that could not be claimed removed)', () => {
    const usable = { ...local, nodePort: 0 };
    const [p] = planPortals(new Map([[local.name, { port: 40002 }]]), new Map([[local.name, usable]]));
    expect(p?.service).toBe(usable);
  });
});
