import { describe, expect, it } from 'vitest';
import { LoadBalancer, makeTarget, targetKey } from './load-balancer.ts';
import type { SessionAffinity } from '../../model/types.ts';

const none: SessionAffinity = { type: 'None', timeoutSeconds: 0 };
const sticky: SessionAffinity = { type: 'ClientIP', timeoutSeconds: 10 };
const a = makeTarget('10.244.1.1', 80);
const b = makeTarget('10.244.1.2', 80);
const c = makeTarget('10.244.1.3', 80);

function setup(affinity = none, backoff = 1000) {
  let now = 1_000_000;
  const lb = new LoadBalancer({ now: () => now, failureBackoffMs: backoff });
  lb.setService('ns/svc:http', affinity, [a, b, c]);
  return { lb, advance: (ms: number) => (now += ms) };
}

function picks(lb: LoadBalancer, n: number, client = '10.0.0.1'): (string | undefined)[] {
  return Array.from({ length: n }, () => lb.next('ns/svc:http', client, false)?.ip);
}

describe('targetKey', () => {
  it.each([
    ['10.0.0.1', 80, '10.0.0.1:80'],
    ['fd00::1', 8080, '[fd00::1]:8080'],
  ])('%s %d → %s', (ip, port, key) => expect(targetKey(ip, port)).toBe(key));
});

describe('LoadBalancer', () => {
  it('round-robins over the targets', () => {
    const { lb } = setup();
    expect(picks(lb, 6)).toEqual([a.ip, b.ip, c.ip, a.ip, b.ip, c.ip]);
  });

  it('returns undefined for an unknown or empty service port', () => {
    const { lb } = setup();
    expect(lb.next('ns/other', '1.1.1.1', false)).toBeUndefined();
    lb.setService('ns/empty', none, []);
    expect(lb.next('ns/empty', '1.1.1.1', false)).toBeUndefined();
  });

  it('skips a failed target during its back-off, then uses it again', () => {
    const { lb, advance } = setup();
    lb.markFailed(b.key);
    expect(picks(lb, 4)).toEqual([a.ip, c.ip, a.ip, c.ip]);
    advance(1001);
    expect(picks(lb, 3)).toEqual([a.ip, b.ip, c.ip]);
  });

  it('still answers when every target is in back-off', () => {
    const { lb } = setup();
    for (const t of [a, b, c]) lb.markFailed(t.key);
    expect(picks(lb, 3)).toEqual([a.ip, b.ip, c.ip]);
  });

  it('forgets a failure once a dial succeeds', () => {
    const { lb } = setup();
    lb.markFailed(a.key);
    lb.markSucceeded(a.key);
    expect(picks(lb, 1)).toEqual([a.ip]);
  });

  it.each([
    ['None spreads one client', none, [a.ip, b.ip, c.ip]],
    ['ClientIP sticks one client', sticky, [a.ip, a.ip, a.ip]],
  ])('%s', (_name, affinity, want) => {
    const { lb } = setup(affinity);
    expect(picks(lb, 3, '10.0.0.9')).toEqual(want);
  });

  it('ClientIP affinity expires after the timeout', () => {
    const { lb, advance } = setup(sticky);
    expect(picks(lb, 1, 'x')).toEqual([a.ip]);
    expect(picks(lb, 1, 'y')).toEqual([b.ip]);
    advance(10_001);
    expect(picks(lb, 1, 'x')).toEqual([c.ip]);
  });

  it('a retry replaces the sticky target (upstream sessionAffinityReset)', () => {
    const { lb } = setup(sticky);
    expect(picks(lb, 1, 'x')).toEqual([a.ip]);
    lb.markFailed(a.key);
    expect(lb.next('ns/svc:http', 'x', true)?.ip).toBe(b.ip);
    expect(picks(lb, 2, 'x')).toEqual([b.ip, b.ip]);
  });

  it('drops affinity to a removed target and keeps the rest', () => {
    const { lb } = setup(sticky);
    expect(picks(lb, 1, 'x')).toEqual([a.ip]);
    expect(picks(lb, 1, 'y')).toEqual([b.ip]);
    lb.setService('ns/svc:http', sticky, [b, c]);
    expect(lb.hasTarget('ns/svc:http', a.key)).toBe(false);
    expect(picks(lb, 1, 'y')).toEqual([b.ip]);
    expect(picks(lb, 1, 'x')).toEqual([b.ip]);
  });

  it('cleanup drops expired affinity records', () => {
    const { lb, advance } = setup(sticky);
    picks(lb, 1, 'x');
    expect(lb.stickyCount('ns/svc:http')).toBe(1);
    advance(5_000);
    lb.cleanup();
    expect(lb.stickyCount('ns/svc:http')).toBe(1);
    advance(20_000);
    lb.cleanup();
    expect(lb.stickyCount('ns/svc:http')).toBe(0);
  });

  it.each([
    ['None', none, false],
    ['ClientIP', sticky, true],
  ])('needsClientIP with %s affinity is %s', (_label, affinity, want) => {
    const { lb } = setup(affinity);
    expect(lb.needsClientIP('ns/svc:http')).toBe(want);
    expect(lb.needsClientIP('ns/unknown')).toBe(false);
  });

  it('deleteService forgets the service port', () => {
    const { lb } = setup();
    lb.deleteService('ns/svc:http');
    expect(lb.targetCount('ns/svc:http')).toBe(0);
    expect(lb.next('ns/svc:http', 'x', false)).toBeUndefined();
  });

  it('service() reports the affinity and targets a relay engine copies, and failureBackoffMs the back-off', () => {
    const { lb } = setup(sticky, 1234);
    expect(lb.service('ns/svc:http')).toEqual({ affinity: sticky, targets: [a, b, c] });
    expect(lb.service('ns/unknown')).toBeUndefined();
    expect(lb.failureBackoffMs).toBe(1234);
  });
});
