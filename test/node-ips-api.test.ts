// The real daemon against an API server (the test API server, in the daemon's own namespace): the
// node IP comes from the watched Node, and a change of the Node's addresses makes the daemon exit
// with status 1 to be restarted with them, as upstream's NodeManager does.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DAEMON_BIN, pollUntil, startDaemon, usePrivateXtablesLock, type Daemon } from './support/daemon.ts';
import { createNamespace, deleteNamespace, execIn, ipIn, spawnIn, type NsProcess } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const API_MAIN = fileURLToPath(new URL('./support/api-server-main.ts', import.meta.url));

const node = (ip: string, rv: string): unknown => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name: 'node-f', resourceVersion: rv },
  status: { addresses: [{ type: 'Hostname', address: 'node-f' }, { type: 'InternalIP', address: ip }] },
});
const service = {
  apiVersion: 'v1', kind: 'Service',
  metadata: { name: 'web', namespace: 'f' },
  spec: { clusterIP: '10.96.0.78', clusterIPs: ['10.96.0.78'], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] },
};
const slice = {
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name: 'web-1', namespace: 'f', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  endpoints: [{ addresses: ['10.244.1.10'], conditions: { ready: true } }],
};

describeWith('node IPs from the API server', ['root', 'iptables'], () => {
  let ns = '';
  let api: NsProcess | undefined;
  let daemon: Daemon | undefined;
  let restoreLock: (() => void) | undefined;
  let sent = 0;

  async function send(op: 'create' | 'update', kind: string, obj: unknown): Promise<void> {
    if (api === undefined) throw new Error('no API server');
    sent++;
    const want = `ok ${sent}`;
    api.write(`${JSON.stringify({ op, kind, obj })}\n`);
    await api.waitForLine((l) => l === want || l.startsWith(`error ${sent} `));
    expect(api.output()).toContain(want);
  }

  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('f-nodeip-api');
    // .71 comes first, so it is what "the first local address" would pick.
    await ipIn(ns, ['addr', 'add', '192.0.2.71/32', 'dev', 'lo']);
    await ipIn(ns, ['addr', 'add', '192.0.2.72/32', 'dev', 'lo']);
    api = spawnIn(ns, process.execPath, [API_MAIN], { stdin: true });
  });
  afterAll(async () => {
    await daemon?.stop();
    await api?.stop();
    if (ns) {
      await execIn(ns, process.execPath, [DAEMON_BIN, '--cleanup']);
      await deleteNamespace(ns);
    }
    restoreLock?.();
  });

  it('uses the watched Node\'s InternalIP, and exits 1 when the Node\'s addresses change', async () => {
    if (api === undefined) throw new Error('no API server');
    const port = (await api.waitForLine((l) => l.startsWith('listening '))).split(' ')[1];
    await send('create', 'Node', node('192.0.2.72', '1'));
    await send('create', 'Service', service);
    await send('create', 'EndpointSlice', slice);
    const d = startDaemon(ns, ['--master', `http://127.0.0.1:${port}`, '--hostname-override', 'node-f', '--proxy-mode', 'userspace', '--healthz-bind-address', '', '--metrics-bind-address', '']);
    daemon = d;
    const target = await pollUntil('portal rule for 10.96.0.78', 30_000, async () => {
      if (d.child.exitCode !== null) throw new Error(`daemon exited:\n${d.output()}`);
      const saved = (await execIn(ns, 'iptables-nft-save', ['-t', 'nat'])).stdout + (await execIn(ns, 'iptables-legacy-save', ['-t', 'nat'])).stdout;
      const rule = saved.split('\n').find((l) => l.includes('-d 10.96.0.78/32') && l.includes('--to-destination'));
      return /--to-destination (\S+):\d+/.exec(rule ?? '')?.[1];
    });
    expect(target, d.output()).toBe('192.0.2.72');
    await send('update', 'Node', node('192.0.2.71', '2'));
    expect(await d.exited, d.output()).toBe(1);
    expect(d.output()).toContain('node IPs changed; exiting to restart with them');
  });
});
