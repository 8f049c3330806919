// `kube-proxy-ts status --verify` against a real metrics server (startMetricsServer) fed by the
// daemon's wiring: the proxiers' drift reports go through withDriftStatus into SyncStatus and the
// kubeproxyts_ruleset_drift gauge; the command lists what the last check found, exit 1 on drift.
import { afterEach, describe, expect, it } from 'vitest';
import { PromMetrics } from '../../server/metrics.ts';
import { startMetricsServer } from '../../server/http-servers.ts';
import type { RunningServer } from '../../server/listen.ts';
import { SyncStatus, withDriftStatus } from '../../sync/sync-status.ts';
import { recordingLogger } from '../../sync/testing/recorders.ts';
import type { DaemonStatus } from '../daemon-status.ts';
import { runStatusCommand } from './status-command.ts';

const started: RunningServer[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

async function daemon(mode: string): Promise<{ url: string; report: (d: string[]) => void; metrics: PromMetrics; status: SyncStatus }> {
  const status = new SyncStatus();
  const metrics = new PromMetrics();
  const backend = withDriftStatus(metrics, status);
  status.failed('IPv4');
  const server = await startMetricsServer({
    host: '127.0.0.1', port: 0, render: () => metrics.render(), proxyMode: mode, logger: recordingLogger(),
    daemonStatus: (): DaemonStatus => ({ mode, backend: mode === 'nftables' ? null : 'nft', checksDrift: mode === 'nftables', version: 'v', startedAt: '2026-01-01T00:00:00.000Z', families: status.families(), health: { healthy: true } }),
  });
  started.push(server);
  return { url: `127.0.0.1:${server.port}`, report: (d) => backend.setRulesetDrift?.('IPv4', Date.UTC(2026, 0, 2), d), metrics, status };
}

async function verify(url: string, json = false): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runStatusCommand(['--url', url, '--verify', ...(json ? ['--json'] : [])], { stdout: (t) => void (out += t), stderr: (t) => void (out += t) });
  return { code, out };
}

describe('status --verify', () => {
  it('lists the differences of the last check and exits 1; the metric counts them; a clean check exits 0', async () => {
    const d = await daemon('nftables');
    expect(await verify(d.url)).toEqual({ code: 0, out: 'IPv4: drift not checked yet (the first check runs one syncPeriod after start)\n' });
    d.report(['chain nat-output is missing', 'chain services holds 4 rules, the daemon wrote 3']);
    expect(await verify(d.url)).toEqual({
      code: 1,
      out: [
        'IPv4: DRIFT at 2026-01-02T00:00:00.000Z, 2 differences (a full sync rewrote the table then):',
        '  - chain nat-output is missing',
        '  - chain services holds 4 rules, the daemon wrote 3',
        '',
      ].join('\n'),
    });
    expect((await d.metrics.render()).body).toMatch(/^kubeproxyts_ruleset_drift\{ip_family="IPv4"\} 2$/m);
    expect(JSON.parse((await verify(d.url, true)).out)).toEqual({ IPv4: { checkedAt: '2026-01-02T00:00:00.000Z', differences: ['chain nat-output is missing', 'chain services holds 4 rules, the daemon wrote 3'] } });
    d.report([]);
    expect(await verify(d.url)).toEqual({ code: 0, out: 'IPv4: no drift (checked 2026-01-02T00:00:00.000Z)\n' });
    expect((await d.metrics.render()).body).toMatch(/^kubeproxyts_ruleset_drift\{ip_family="IPv4"\} 0$/m);
  });

  it('a mode that does not check says so', async () => {
    const d = await daemon('ipvs');
    expect(await verify(d.url)).toEqual({ code: 0, out: 'IPv4: drift not checked (the ipvs mode does not check for drift yet)\n' });
  });
});
