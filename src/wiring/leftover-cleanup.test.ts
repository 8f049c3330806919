import { describe, expect, it } from 'vitest';
import type { IPFamily, Proxier, ProxyState, SyncResult } from '../model/types.ts';
import { recordingLogger } from '../sync/testing/recorders.ts';
import { withLeftoverCleanup } from './leftover-cleanup.ts';

function fakeProxier(family: IPFamily, events: string[], fail: () => boolean): Proxier {
  return {
    mode: 'iptables',
    family,
    async sync(): Promise<SyncResult> {
      if (fail()) {
        events.push(`sync-failed ${family}`);
        throw new Error('restore failed');
      }
      events.push(`sync ${family}`);
      return { kind: 'full' };
    },
  };
}

const state = {} as ProxyState;

describe('withLeftoverCleanup', () => {
  it('cleans only after a successful sync, once per family, and retries a failed clean-up after the next sync', async () => {
    const events: string[] = [];
    let syncFails = true;
    let cleanFails = 1;
    const log = recordingLogger();
    const [v4, v6] = withLeftoverCleanup(
      [fakeProxier('IPv4', events, () => syncFails), fakeProxier('IPv6', events, () => false)],
      async (family) => {
        events.push(`clean ${family}`);
        if (family === 'IPv4' && cleanFails-- > 0) throw new Error('xtables lock');
      },
      log,
    );
    if (v4 === undefined || v6 === undefined) throw new Error('two proxiers expected');
    await expect(v4.sync(state)).rejects.toThrow('restore failed');
    syncFails = false;
    expect(await v4.sync(state)).toEqual({ kind: 'full' });
    await v4.sync(state);
    await v4.sync(state);
    await v6.sync(state);
    await v6.sync(state);
    expect(events).toEqual([
      'sync-failed IPv4',
      'sync IPv4', 'clean IPv4',
      'sync IPv4', 'clean IPv4',
      'sync IPv4',
      'sync IPv6', 'clean IPv6',
      'sync IPv6',
    ]);
    expect(log.entries.filter((e) => e.level === 'error').map((e) => e.fields['family'])).toEqual(['IPv4']);
  });
});
