import { describe, expect, it } from 'vitest';
import { PromMetrics } from './metrics.ts';

function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('PromMetrics', () => {
  it('exposes the upstream names with the recorded values', async () => {
    const m = new PromMetrics();
    m.observeSync('IPv4', 'full', 3);
    m.observeSync('IPv4', 'partial', 40);
    m.setLastSyncTimestamp('IPv4', 1_700_000_000_500);
    m.setLastQueuedTimestamp('IPv4', 1_700_000_000_000);
    m.setLastSyncTimestamp('IPv6', 1_700_000_000_900);
    m.observeNetworkProgramming('IPv4', 1500);
    m.setChangesPending(2, 1);
    m.addChanges(5, 3);
    m.setRuleCount('IPv4', 'nat', 120);
    m.setRuleCount('IPv6', 'nat', 80);
    m.setNoLocalEndpoints('IPv4', 'external', 2);
    m.setNoLocalEndpoints('IPv4', 'internal', 0);
    m.incRestoreFailure(true, 'IPv6');
    m.incProbe('healthz', 200);
    m.incProbe('livez', 503);
    m.incSyncErrors('IPv6');
    m.incInvalidObject('Service');
    m.incWatchRestart('endpointslices');
    const { contentType, body } = await m.render();
    expect(contentType).toContain('text/plain');

    const expected: [string, number][] = [
      ['kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"}', 2],
      ['kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004",ip_family="IPv4"}', 1],
      ['kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="16.384",ip_family="IPv4"}', 2],
      ['kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"}', 1],
      ['kubeproxy_sync_partial_proxy_rules_duration_seconds_sum{ip_family="IPv4"}', 0.04],
      ['kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}', 1_700_000_000.5],
      ['kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"}', 1_700_000_000.9],
      ['kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv4"}', 1_700_000_000],
      ['kubeproxy_network_programming_duration_seconds_bucket{le="2",ip_family="IPv4"}', 1],
      ['kubeproxy_network_programming_duration_seconds_bucket{le="1",ip_family="IPv4"}', 0],
      ['kubeproxy_sync_proxy_rules_endpoint_changes_pending', 2],
      ['kubeproxy_sync_proxy_rules_endpoint_changes_total', 5],
      ['kubeproxy_sync_proxy_rules_service_changes_pending', 1],
      ['kubeproxy_sync_proxy_rules_service_changes_total', 3],
      ['kubeproxy_sync_proxy_rules_iptables_total{table="nat",ip_family="IPv4"}', 120],
      ['kubeproxy_sync_proxy_rules_iptables_total{table="nat",ip_family="IPv6"}', 80],
      ['kubeproxy_sync_proxy_rules_iptables_restore_failures_total{ip_family="IPv6"}', 1],
      ['kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total{ip_family="IPv6"}', 1],
      ['kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="external",ip_family="IPv4"}', 2],
      ['kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal",ip_family="IPv4"}', 0],
      ['kubeproxy_proxy_healthz_total{code="200"}', 1],
      ['kubeproxy_proxy_livez_total{code="503"}', 1],
      ['kubeproxy_sync_proxy_rules_errors_total{ip_family="IPv6"}', 1],
      ['kubeproxy_invalid_objects_total{kind="Service"}', 1],
      ['kubeproxy_source_watch_restarts_total{resource="endpointslices"}', 1],
    ];
    for (const [series, value] of expected) expect([series, sample(body, series)]).toEqual([series, value]);
    // The sync histogram has upstream's 15 exponential buckets plus +Inf.
    expect(body.match(/^kubeproxy_sync_proxy_rules_duration_seconds_bucket\{.*ip_family="IPv4"/gm)).toHaveLength(16);
    expect(body).toMatch(/^process_cpu_user_seconds_total /m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('keeps registries separate', async () => {
    const a = new PromMetrics({ defaultMetrics: false });
    const b = new PromMetrics({ defaultMetrics: false });
    a.addChanges(1, 0);
    expect(sample((await b.render()).body, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBe(0);
    expect((await b.render()).body).not.toContain('process_cpu');
  });
});
