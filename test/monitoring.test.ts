// deploy/monitoring/ as an operator loads it: the Grafana dashboard and the Prometheus rules name
// only metrics the daemon exports (a renamed metric would leave an empty panel or an alert that
// never fires), and the three alerts the operator guide promises are there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PromMetrics } from '../src/server/metrics.ts';

const MONITORING = new URL('../deploy/monitoring/', import.meta.url).pathname;

interface Target { expr: string; legendFormat?: string }
interface Panel { title: string; type: string; targets: Target[]; gridPos: { x: number; y: number; w: number; h: number } }
interface Dashboard { uid: string; panels: Panel[]; templating: { list: { name: string; query: unknown }[] } }
interface Rule { alert: string; expr: string; for: string; labels: { severity: string }; annotations: { summary: string; description: string } }
interface RulesFile { groups: { name: string; rules: Rule[] }[] }

async function exported(): Promise<Map<string, string>> {
  const metrics = new PromMetrics({ defaultMetrics: false });
  const out = new Map<string, string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) out.set(m.name, String(m.type));
  return out;
}

/** Every kubeproxy metric an expression names, with a histogram's series suffix taken off. */
function namedMetrics(expr: string, known: Map<string, string>): string[] {
  const names = [...expr.matchAll(/\bkubeproxy(?:ts)?_[a-z0-9_]+/g)].map((m) => m[0]);
  return names.map((n) => {
    const base = n.replace(/_(bucket|sum|count)$/, '');
    return base !== n && known.get(base) === 'histogram' ? base : n;
  });
}

const dashboard = JSON.parse(readFileSync(`${MONITORING}grafana-dashboard.json`, 'utf8')) as Dashboard;
const rules = parse(readFileSync(`${MONITORING}alerts.yaml`, 'utf8')) as RulesFile;

describe('deploy/monitoring', () => {
  it('the dashboard names only exported metrics, and covers syncs, programming latency, failures and changes', async () => {
    const known = await exported();
    const used = new Set<string>();
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    for (const p of dashboard.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) {
        const names = namedMetrics(t.expr, known);
        expect(names.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        for (const n of names) {
          expect(known.has(n), `${p.title} names ${n}, which the daemon does not export`).toBe(true);
          used.add(n);
        }
      }
    }
    for (const v of dashboard.templating.list) {
      if (typeof v.query === 'string') for (const n of namedMetrics(v.query, known)) expect(known.has(n), `variable ${v.name}: ${n}`).toBe(true);
    }
    for (const must of [
      'kubeproxy_sync_proxy_rules_duration_seconds',
      'kubeproxy_network_programming_duration_seconds',
      'kubeproxy_sync_proxy_rules_errors_total',
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'kubeproxy_conntrack_reconciler_deleted_entries_total',
      'kubeproxyts_ruleset_drift',
    ]) expect(used, must).toContain(must);
  });

  it('panels do not overlap on the grid', () => {
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`;
          expect(cells.has(key), `${p.title} overlaps at ${key}`).toBe(false);
          cells.add(key);
        }
      }
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
  });

  it('the alerting rules are the three promised, complete, on exported metrics', async () => {
    const known = await exported();
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert).sort()).toEqual(['KubeProxyNetworkProgrammingSlow', 'KubeProxyNoSuccessfulSync', 'KubeProxySyncFailing']);
    for (const r of all) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary.length, r.alert).toBeGreaterThan(10);
      const names = namedMetrics(r.expr, known);
      expect(names.length, r.alert).toBeGreaterThan(0);
      for (const n of names) expect(known.has(n), `${r.alert} names ${n}, which the daemon does not export`).toBe(true);
    }
    // The SLO alert fires above Kubernetes' 30 s network programming SLO.
    const slo = all.find((r) => r.alert === 'KubeProxyNetworkProgrammingSlow');
    expect(slo?.expr).toMatch(/histogram_quantile\(0\.99,[\s\S]*\)\s*>\s*30\s*$/);
  });
});
