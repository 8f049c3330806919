import { describe, expect, it } from 'vitest';
import { FakeClock } from './testing/fake-clock.ts';
import { ProxyHealth } from './proxy-health.ts';

type Step =
  | { op: 'updated' | 'queued'; family: 'IPv4' | 'IPv6' }
  | { op: 'advance'; ms: number }
  | { op: 'node'; eligible: boolean };

const cases: { name: string; steps: Step[]; livez: number; healthz: number }[] = [
  { name: 'starting up with nothing seen', steps: [], livez: 200, healthz: 200 },
  { name: 'idle proxier long after its last sync', steps: [{ op: 'updated', family: 'IPv4' }, { op: 'advance', ms: 600_000 }], livez: 200, healthz: 200 },
  {
    name: 'queued change younger than the timeout',
    steps: [{ op: 'updated', family: 'IPv4' }, { op: 'queued', family: 'IPv4' }, { op: 'advance', ms: 59_999 }],
    livez: 200,
    healthz: 200,
  },
  {
    name: 'queued change older than the timeout',
    steps: [{ op: 'updated', family: 'IPv4' }, { op: 'queued', family: 'IPv4' }, { op: 'advance', ms: 60_000 }],
    livez: 503,
    healthz: 503,
  },
  {
    name: 'the oldest queued change counts, not the newest',
    steps: [
      { op: 'queued', family: 'IPv4' },
      { op: 'advance', ms: 40_000 },
      { op: 'queued', family: 'IPv4' },
      { op: 'advance', ms: 30_000 },
    ],
    livez: 503,
    healthz: 503,
  },
  {
    name: 'an update clears the queue',
    steps: [{ op: 'queued', family: 'IPv4' }, { op: 'advance', ms: 70_000 }, { op: 'updated', family: 'IPv4' }],
    livez: 200,
    healthz: 200,
  },
  {
    name: 'one late family makes the proxy unhealthy',
    steps: [
      { op: 'queued', family: 'IPv4' },
      { op: 'queued', family: 'IPv6' },
      { op: 'advance', ms: 70_000 },
      { op: 'updated', family: 'IPv4' },
    ],
    livez: 503,
    healthz: 503,
  },
  { name: 'node being deleted fails healthz only', steps: [{ op: 'node', eligible: false }], livez: 200, healthz: 503 },
];

describe('ProxyHealth', () => {
  it.each(cases)('$name', async ({ steps, livez, healthz }) => {
    const clock = new FakeClock(0);
    const h = new ProxyHealth({ clock, healthTimeoutMs: 60_000 });
    for (const s of steps) {
      if (s.op === 'advance') await clock.advance(s.ms);
      else if (s.op === 'node') h.setNodeEligible(s.eligible);
      else if (s.op === 'updated') h.updated(s.family);
      else h.queuedUpdate(s.family);
    }
    expect(h.livez().status).toBe(livez);
    expect(h.healthz().status).toBe(healthz);
    expect(h.isHealthy()).toBe(livez === 200);
  });

  it('answers upstream body fields; lastUpdated is now when healthy, the real time when not', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const h = new ProxyHealth({ clock, healthTimeoutMs: 1000 });
    h.updated('IPv4');
    h.queuedUpdate('IPv4');
    await clock.advance(5000);
    const bad = h.healthz();
    expect(bad.status).toBe(503);
    expect(bad.body).toMatchObject({
      lastUpdated: '2026-01-01T00:00:00.000Z',
      currentTime: '2026-01-01T00:00:05.000Z',
      nodeEligible: true,
      healthy: false,
    });
    h.updated('IPv4');
    const good = h.livez();
    expect(good.body['lastUpdated']).toBe('2026-01-01T00:00:05.000Z');
    expect('nodeEligible' in good.body).toBe(false);
  });

  it('/readyz: 503 until every family synced once, then /healthz semantics', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const h = new ProxyHealth({ clock, healthTimeoutMs: 1000 });
    expect(h.readyz()).toMatchObject({ status: 503, body: { ready: false, waitingForFirstSync: 'sync loop not started' } });
    h.expectFamilies(['IPv4', 'IPv6']);
    h.updated('IPv4');
    h.updated('IPv6');
    // /healthz is healthy while starting up (upstream); /readyz is not.
    expect(h.healthz().status).toBe(200);
    expect(h.readyz()).toMatchObject({ status: 503, body: { ready: false, waitingForFirstSync: ['IPv4', 'IPv6'] } });
    h.programmed('IPv4');
    expect(h.readyz()).toMatchObject({ status: 503, body: { waitingForFirstSync: ['IPv6'] } });
    h.programmed('IPv6');
    expect(h.readyz()).toMatchObject({ status: 200, body: { ready: true, healthy: true, waitingForFirstSync: [] } });
    h.setNodeEligible(false);
    expect(h.readyz().status).toBe(503);
    h.setNodeEligible(true);
    h.queuedUpdate('IPv6');
    await clock.advance(5000);
    expect(h.healthz().status).toBe(503);
    expect(h.readyz()).toMatchObject({ status: 503, body: { ready: false, healthy: false } });
  });
});
