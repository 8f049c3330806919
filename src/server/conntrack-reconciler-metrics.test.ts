import { describe, expect, it } from 'vitest';
import { PromMetrics } from './metrics.ts';

describe('conntrack reconciler metrics', () => {
  it('exports upstream names, per IP family', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    m.observeConntrackReconcile('IPv4', 3, 12);
    m.observeConntrackReconcile('IPv4', 0, 2);
    m.observeConntrackReconcile('IPv6', 1, 1);
    const { body } = await m.render();
    expect(body).toContain('# TYPE kubeproxy_conntrack_reconciler_deleted_entries_total counter');
    expect(body).toContain('kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="IPv4"} 3');
    expect(body).toContain('kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="IPv6"} 1');
    expect(body).toContain('kubeproxy_conntrack_reconciler_sync_duration_seconds_count{ip_family="IPv4"} 2');
    expect(body).toContain('kubeproxy_conntrack_reconciler_sync_duration_seconds_bucket{le="0.016",ip_family="IPv4"} 2');
  });

  it('reads a kernel counter at scrape time and keeps the last value when a read fails', async () => {
    const m = new PromMetrics({ defaultMetrics: false });
    const values: (number | null)[] = [5, null, 9];
    m.addKernelCounter('kubeproxy_iptables_localhost_nodeports_accepted_packets_total', 'help', async () => values.shift() ?? null);
    const line = async (): Promise<string | undefined> =>
      (await m.render()).body.split('\n').find((l) => l.startsWith('kubeproxy_iptables_localhost_nodeports_accepted_packets_total '));
    expect(await line()).toBe('kubeproxy_iptables_localhost_nodeports_accepted_packets_total 5');
    expect(await line()).toBe('kubeproxy_iptables_localhost_nodeports_accepted_packets_total 5');
    expect(await line()).toBe('kubeproxy_iptables_localhost_nodeports_accepted_packets_total 9');
  });
});
