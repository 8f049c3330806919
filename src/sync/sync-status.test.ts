import { describe, expect, it } from 'vitest';
import { ep, svcPort } from '../backends/common/testing/fixtures.ts';
import { formatStatus } from '../status/daemon-status.ts';
import type { ProxyState } from '../model/types.ts';
import { SyncStatus, withCommitStatus, withSyncStatus } from './sync-status.ts';
import { RecordingMetrics } from './testing/recorders.ts';

const stateOf = (): ProxyState => {
  const a = svcPort('ns', 'web', 'http');
  const b = svcPort('ns', 'web', 'https', { port: 443 });
  const c = svcPort('ns', 'dns', 'dns', { clusterIP: '172.30.0.53', port: 53, protocol: 'UDP' });
  return {
    family: 'IPv4', node: { name: 'n', labels: {}, zone: '', podCIDRs: [], eligible: true },
    services: new Map([[a.name, a], [b.name, b], [c.name, c]]),
    endpoints: new Map([[a.name, [ep('10.0.0.1', 80), ep('10.0.0.2', 80)]], [b.name, [ep('10.0.0.1', 443)]], [c.name, []]]),
    changedServices: new Set(), changedEndpoints: new Set(), removedEndpoints: new Map(), full: true,
  };
};

describe('SyncStatus', () => {
  it('records the last sync, failures and what the committed state held, passing everything on', () => {
    const status = new SyncStatus();
    const rec = new RecordingMetrics();
    const metrics = withSyncStatus(rec, status);
    const committedStates: ProxyState[] = [];
    const source = withCommitStatus({ isSynced: () => true, snapshot: () => stateOf(), commit: (s) => committedStates.push(s) }, status);
    expect(status.families()).toEqual({});
    metrics.incSyncErrors('IPv4');
    source.commit(source.snapshot('IPv4', { full: true }));
    metrics.observeSync('IPv4', 'full', 42);
    metrics.setLastSyncTimestamp('IPv4', Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(committedStates).toHaveLength(1);
    expect(rec.syncs).toEqual([{ family: 'IPv4', kind: 'full', durationMs: 42 }]);
    expect(rec.errors).toEqual(['IPv4']);
    expect(rec.lastSync).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(status.families()).toEqual({
      IPv4: { lastSyncAt: '2026-01-02T03:04:05.000Z', lastSyncDurationMs: 42, lastSyncKind: 'full', failuresSinceStart: 1, services: 2, servicePorts: 3, endpoints: 3, drift: null },
    });
    const text = formatStatus({
      mode: 'iptables', backend: 'nft', checksDrift: false, version: 'kube-proxy-ts v0.1.0', startedAt: '2026-01-02T03:00:00.000Z', families: status.families(),
      health: { healthy: true, status: { IPv4: { healthy: true, lastUpdated: '2026-01-02T03:04:05.000Z' } } },
    });
    expect(text).toBe([
      'mode:       iptables (iptables back-end nft)',
      'version:    kube-proxy-ts v0.1.0',
      'started:    2026-01-02T03:00:00.000Z',
      'IPv4:',
      '  health:     healthy',
      '  programmed: 2 Services, 3 ports, 3 endpoints',
      '  last sync:  2026-01-02T03:04:05.000Z, full in 42 ms',
      '  failures:   1 since start',
      '',
    ].join('\n'));
  });
});
