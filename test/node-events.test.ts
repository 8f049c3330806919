// Issue 13, warnings: in ipvs mode the daemon records upstream's IPVSDeprecation Warning Event on
// its Node, through the real EventPoster (client-node's events.k8s.io/v1 client) against the test
// API server; in other modes, or with no API server, it records none; a refused post is logged and
// does not stop the daemon.
import { afterEach, describe, expect, it } from 'vitest';
import { IPVS_DEPRECATION_MESSAGE } from '../src/config/mode-warnings.ts';
import { createEventPoster } from '../src/sources/kube-event-poster.ts';
import { loadKubeConfig } from '../src/sources/kubeconfig.ts';
import { modeEntry } from '../src/backends/modes.ts';
import { announceMode } from '../src/sources/mode-announcement.ts';
import { TestApiServer } from './support/api-server.ts';
import { recordingLogger } from './support/api-server-sink.ts';

let server: TestApiServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(): Promise<TestApiServer> {
  server = new TestApiServer();
  await server.start();
  return server;
}

describe('the IPVSDeprecation Event', () => {
  it('ipvs mode: one Warning Event regarding the Node, in default, and the error log line', async () => {
    const srv = await start();
    const logger = recordingLogger();
    const now = Date.UTC(2026, 11, 7, 23, 0, 0, 123);
    await announceMode({ mode: 'ipvs', deprecation: modeEntry('ipvs').deprecation, nodeName: 'node-a', hostname: 'host-a', logger, events: createEventPoster(loadKubeConfig({ master: srv.url })), now: () => now });
    expect(srv.events).toHaveLength(1);
    const [event] = srv.events;
    expect(event?.namespace).toBe('default');
    expect(event?.body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `node-a.${(BigInt(now) * 1_000_000n).toString(16)}`, namespace: 'default' },
      type: 'Warning',
      reason: 'IPVSDeprecation',
      action: 'StartKubeProxy',
      note: IPVS_DEPRECATION_MESSAGE,
      reportingController: 'kube-proxy',
      reportingInstance: 'kube-proxy-host-a',
      regarding: { kind: 'Node', name: 'node-a', uid: 'node-a' },
    });
    expect(String(event?.body['eventTime'])).toMatch(/^2026-12-07T23:00:00\.123(000)?Z$/);
    expect(logger.records.filter((e) => e.level === 'error').map((e) => e.msg)).toEqual([IPVS_DEPRECATION_MESSAGE]);
  });

  it.each(['iptables', 'userspace', 'nftables'] as const)('%s mode: no Event, no deprecation line', async (mode) => {
    const srv = await start();
    const logger = recordingLogger();
    await announceMode({ mode, deprecation: modeEntry(mode).deprecation, nodeName: 'node-a', hostname: 'h', logger, events: createEventPoster(loadKubeConfig({ master: srv.url })) });
    expect(srv.events).toEqual([]);
    expect(srv.requests).toEqual([]);
    expect(logger.records).toEqual([]);
  });

  it('a refused post (API server down) is logged as a warning and does not throw', async () => {
    const srv = await start();
    await srv.stop();
    const logger = recordingLogger();
    await announceMode({ mode: 'ipvs', deprecation: modeEntry('ipvs').deprecation, nodeName: 'node-a', hostname: 'h', logger, events: createEventPoster(loadKubeConfig({ master: srv.url })) });
    const warn = logger.records.find((e) => e.level === 'warn');
    expect(warn?.msg).toBe('could not record an Event on the Node');
    server = undefined;
  });
});
