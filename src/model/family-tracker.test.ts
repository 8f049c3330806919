import { describe, expect, it } from 'vitest';
import { FamilyTracker } from './family-tracker.ts';
import { defaultNode } from './node-parse.ts';
import { endpoint, servicePort } from './testing/fixtures.ts';
import type { Endpoint, ServicePort } from './types.ts';

// `name` is `ns/svc`; the service port keeps it as its ServicePortName.
const port = (name: string, p = 80): ServicePort =>
  ({ ...servicePort('ns', name.split('/')[1] ?? ''), name, protocol: 'UDP', clusterIP: '10.96.0.1', port: p });

const ep = (ip: string, serving = true): Endpoint => endpoint(ip, 53, { ready: serving, serving });

const node = defaultNode('n1');

describe('FamilyTracker', () => {
  it('an unchanged value is not a change', () => {
    const t = new FamilyTracker('IPv4');
    expect(t.setService('ns/a', port('ns/a'), 1, 0)).toBe(true);
    expect(t.setService('ns/a', port('ns/a'), 2, 0)).toBe(false);
    expect(t.setEndpoints('ns/a', [ep('10.0.0.1')], 3, 0, 0)).toBe(true);
    expect(t.setEndpoints('ns/a', [ep('10.0.0.1')], 4, 0, 0)).toBe(false);
    expect(t.setEndpoints('ns/b', [], 5, 0, 0)).toBe(false);
  });

  it.each<[string, Endpoint[], Endpoint[], string[]]>([
    ['endpoint removed', [ep('10.0.0.1'), ep('10.0.0.2')], [ep('10.0.0.1')], ['10.0.0.2']],
    ['endpoint stops serving', [ep('10.0.0.1')], [ep('10.0.0.1', false)], ['10.0.0.1']],
    ['a non-serving endpoint removed carries no conntrack state', [ep('10.0.0.1', false)], [], []],
    ['endpoint added', [ep('10.0.0.1')], [ep('10.0.0.1'), ep('10.0.0.2')], []],
  ])('removedEndpoints: %s', (_n, before, after, want) => {
    const t = new FamilyTracker('IPv4');
    t.setEndpoints('ns/a', before, 1, 0, 0);
    t.commit(t.snapshot(1, node, false));
    t.setEndpoints('ns/a', after, 2, 0, 0);
    expect(t.snapshot(2, node, false).removedEndpoints.get('ns/a')?.map((e) => e.ip) ?? []).toEqual(want);
  });

  it('a change made after the snapshot stays pending across commit', () => {
    const t = new FamilyTracker('IPv4');
    t.setService('ns/a', port('ns/a'), 1, 100);
    const s = t.snapshot(1, node, false);
    t.setService('ns/a', port('ns/a', 81), 2, 200);
    t.commit(s);
    expect([...t.pendingServices]).toEqual(['ns/a']);
    expect(t.oldestPending()).toBe(100);
    const s2 = t.snapshot(2, node, false);
    expect(s2.services.get('ns/a')?.port).toBe(81);
    t.commit(s2);
    expect(t.pendingCount).toEqual({ services: 0, endpoints: 0 });
  });

  it('an older snapshot committed after a newer one is ignored', () => {
    const t = new FamilyTracker('IPv4');
    t.setService('ns/a', port('ns/a'), 1, 0);
    const old = t.snapshot(1, node, false);
    t.setService('ns/b', port('ns/b'), 2, 0);
    const newer = t.snapshot(2, node, false);
    t.commit(newer);
    t.setService('ns/c', port('ns/c'), 3, 0);
    t.commit(old);
    expect([...t.pendingServices]).toEqual(['ns/c']);
  });
});
