// The node IP comes from the Node object (status.addresses InternalIP), as upstream's, and
// --bind-address overrides it: checked through the real daemon in userspace mode, whose portal
// rules DNAT host-originated traffic to the node IP. The namespace has two local addresses so the
// first local address (the old guess) and the Node's address differ.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DAEMON_BIN, HEALTHZ, METRICS, pollUntil, startDaemon, usePrivateXtablesLock, type Daemon } from './support/daemon.ts';
import { createNamespace, deleteNamespace, execIn, ipIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: f }
spec:
  clusterIP: 10.96.0.77
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 8080 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: f, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, protocol: TCP, port: 8080 }]
endpoints:
  - addresses: [10.244.1.10]
    conditions: { ready: true }
`;

const node = (addresses: string): string => `apiVersion: v1
kind: Node
metadata: { name: node-f }
status:
  addresses: ${addresses}
`;

describeWith('node IPs from the Node object', ['root', 'iptables'], () => {
  let ns = '';
  let dir = '';
  let restoreLock: (() => void) | undefined;
  let daemon: Daemon | undefined;

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('f-nodeip');
    // .61 comes first, so it is what "the first local address" would pick.
    await ipIn(ns, ['addr', 'add', '192.0.2.61/32', 'dev', 'lo']);
    await ipIn(ns, ['addr', 'add', '192.0.2.62/32', 'dev', 'lo']);
  });
  afterAll(async () => {
    await daemon?.stop();
    if (ns) await deleteNamespace(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
    restoreLock?.();
  });

  /** The DNAT target of the portal rule for host-originated traffic to the ClusterIP. */
  async function hostPortalTarget(d: Daemon): Promise<string> {
    return pollUntil('portal rules for 10.96.0.77', 30_000, async () => {
      if (d.child.exitCode !== null) throw new Error(`daemon exited:\n${d.output()}`);
      const saved = (await execIn(ns, 'iptables-nft-save', ['-t', 'nat'])).stdout + (await execIn(ns, 'iptables-legacy-save', ['-t', 'nat'])).stdout;
      const rule = saved.split('\n').find((l) => l.includes('-d 10.96.0.77/32') && l.includes('--to-destination'));
      return /--to-destination (\S+):\d+/.exec(rule ?? '')?.[1];
    });
  }

  it.each([
    ['the Node\'s InternalIP, not the first local address', '[{ type: Hostname, address: node-f }, { type: InternalIP, address: 192.0.2.62 }]', [], '192.0.2.62', 'node IPs from the Node object'],
    ['--bind-address over the Node', '[{ type: InternalIP, address: 192.0.2.62 }]', ['--bind-address', '192.0.2.61'], '192.0.2.61', 'node IPs'],
    ['a local address when the Node has none, with the upstream warning', '[]', [], '192.0.2.61', "can't determine this node's IP"],
  ])('userspace host traffic goes to %s', async (_label, addresses, extra, want, logLine) => {
    dir = mkdtempSync(join(tmpdir(), 'kpt-f-nodeip-'));
    writeFileSync(join(dir, 'web.yaml'), SERVICE);
    writeFileSync(join(dir, 'node.yaml'), node(addresses));
    daemon = startDaemon(ns, [
      '--manifests', dir, '--hostname-override', 'node-f', '--proxy-mode', 'userspace',
      '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS, ...extra,
    ]);
    try {
      expect(await hostPortalTarget(daemon)).toBe(want);
      expect(daemon.output()).toContain(logLine);
    } finally {
      await daemon.stop();
      daemon = undefined;
      await execIn(ns, process.execPath, [DAEMON_BIN, '--cleanup']);
      rmSync(dir, { recursive: true, force: true });
      dir = '';
    }
  });
});
