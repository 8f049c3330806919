import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ClusterState } from '../model/cluster-state.ts';
import { recordingLogger } from '../sync/testing/recorders.ts';
import { NodeIPTracker, startupNodeIPs } from './node-ip-tracker.ts';

const nodeObj = (name: string, ip: string, zone = 'z1'): V1Node => ({
  metadata: { name, resourceVersion: `${ip}-${zone}`, labels: { 'topology.kubernetes.io/zone': zone } },
  status: { addresses: [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: ip }] },
});

function tracker(): { state: ClusterState; t: NodeIPTracker } {
  const state = new ClusterState({ nodeName: 'node-a', families: ['IPv4'], requireNode: true });
  return { state, t: new NodeIPTracker(state, 'node-a') };
}

describe('NodeIPTracker', () => {
  it('passes everything on to the cluster state and keeps only its own Node\'s IPs', async () => {
    const { state, t } = tracker();
    t.replace('Node', [nodeObj('node-b', '192.0.2.20'), nodeObj('node-a', '192.0.2.10', 'z7')]);
    t.synced('Node');
    expect(state.node.zone).toBe('z7');
    expect(await t.waitForIPs(0)).toEqual(['192.0.2.10']);
    t.upsert('Node', nodeObj('node-b', '192.0.2.21'));
    expect(t.ips).toEqual(['192.0.2.10']);
  });

  it('waits for a Node that arrives after the initial list', async () => {
    const { t } = tracker();
    t.replace('Node', []);
    t.synced('Node');
    const waiting = t.waitForIPs(60_000);
    t.upsert('Node', nodeObj('node-a', '192.0.2.11'));
    expect(await waiting).toEqual(['192.0.2.11']);
  });

  it.each([
    ['listed without this Node, no wait', 0, true],
    ['never listed, a short wait', 10, false],
  ])('gives up with no IPs: %s', async (_label, waitMs, listed) => {
    const { t } = tracker();
    if (listed) {
      t.replace('Node', [nodeObj('node-b', '192.0.2.20')]);
      t.synced('Node');
    }
    expect(await t.waitForIPs(waitMs)).toEqual([]);
  });

  it('reports a change of the IPs it was fixed with, once, and not a label-only update', () => {
    const { t } = tracker();
    t.replace('Node', [nodeObj('node-a', '192.0.2.10')]);
    const changes: string[] = [];
    t.fix(t.ips, (before, after) => changes.push(`${before.join()} -> ${after.join()}`));
    t.upsert('Node', nodeObj('node-a', '192.0.2.10', 'z2'));
    t.remove('Node', 'node-a');
    t.upsert('Node', nodeObj('node-a', '192.0.2.12'));
    t.upsert('Node', nodeObj('node-a', '192.0.2.12', 'z3'));
    expect(changes).toEqual(['192.0.2.10 -> 192.0.2.12']);
  });
});

describe('startupNodeIPs', () => {
  it.each([
    ['the Node\'s IP', '192.0.2.10', '0.0.0.0', '192.0.2.10', 'node', 'node IPs'],
    ['bindAddress wins', '192.0.2.10', '192.0.2.99', '192.0.2.99', 'bindAddress', 'node IPs'],
    ['loopback with a warning', undefined, '0.0.0.0', '127.0.0.1', 'loopback', "can't determine this node's IP, assuming loopback; if this is incorrect, set --bind-address or give the Node status.addresses"],
  ])('%s', async (_label, nodeIP, bind, want, source, msg) => {
    const { t } = tracker();
    t.replace('Node', nodeIP === undefined ? [] : [nodeObj('node-a', nodeIP)]);
    t.synced('Node');
    const log = recordingLogger();
    const ips = await startupNodeIPs(t, bind, 0, log);
    expect([ips.byFamily.IPv4, ips.source]).toEqual([want, source]);
    expect(log.entries.at(-1)?.msg).toBe(msg);
  });
});
