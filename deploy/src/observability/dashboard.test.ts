import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployRoot } from '../paths.js';
import { grafanaDashboardFile, prometheusRulesFile, recordedNames } from './prometheus-files.js';
import { dashboardQueries, exposedNames, metricNamesIn } from './promql-names.js';

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr: string; datasource?: { uid: string } }[];
}

/** The dashboard file on its own; chat-cluster.observability.test.ts checks its queries against a live cluster. */
describe('Grafana dashboard (deploy/grafana/chat-cluster.json)', () => {
  const dashboard = JSON.parse(readFileSync(grafanaDashboardFile(), 'utf8')) as { uid: string; panels: Panel[] };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  const datasourceYaml = readFileSync(join(deployRoot(), 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8');
  const uid = /^\s*uid:\s*(\S+)\s*$/m.exec(datasourceYaml)?.[1];

  it('every panel is a timeseries or stat with a unit, reading the provisioned datasource by its uid', () => {
    expect(uid).toBeTruthy();
    expect(panels.length).toBeGreaterThan(20);
    for (const p of panels) {
      expect(['timeseries', 'stat'], p.title).toContain(p.type);
      expect(p.fieldConfig?.defaults?.unit, p.title).toBeTruthy();
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe(uid);
    }
  });

  it('the dashboard provider points Grafana at a folder of dashboard files', () => {
    const provider = readFileSync(join(deployRoot(), 'grafana', 'provisioning', 'dashboards', 'chat.yaml'), 'utf8');
    expect(provider).toMatch(/^\s*type: file\s*$/m);
    expect(provider).toMatch(/^\s*path: \S+/m);
  });

  it('delivery latency is drawn against the 100 ms target', () => {
    const delivery = panels.find((p) => p.type === 'timeseries' && p.targets!.some((t) => t.expr === 'chat:delivery_latency_seconds:p99_1m'))!;
    expect(delivery).toBeDefined();
    const defaults = delivery.fieldConfig!.defaults as { unit: string; thresholds: { steps: { value: number | null }[] }; custom: { thresholdsStyle: { mode: string } } };
    expect(defaults.unit).toBe('s');
    expect(defaults.thresholds.steps.map((s) => s.value)).toContain(0.1);
    expect(defaults.custom.thresholdsStyle.mode).toBe('line');
  });

  it('queries group only by bounded labels, and every recording rule they read is in rules.yml', () => {
    const bounded = new Set(['job', 'instance', 'role', 'op', 'outcome', 'reason', 'kind', 'target', 'le']);
    const recorded = new Set(recordedNames(readFileSync(prometheusRulesFile(), 'utf8')));
    for (const { panel, expr } of dashboardQueries(dashboard)) {
      for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        for (const label of m[1]!.split(',').map((s) => s.trim())) expect(bounded, `${panel}: ${expr}`).toContain(label);
      }
      for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
        for (const label of m[1]!.split(',').map((s) => s.trim().split(/[=!~]/)[0]!)) expect(bounded, `${panel}: ${expr}`).toContain(label);
      }
      for (const name of metricNamesIn(expr)) if (name.includes(':')) expect(recorded, `${panel}: ${expr}`).toContain(name);
    }
  });
});

describe('metricNamesIn and exposedNames', () => {
  it('finds metric and recording rule names, not functions, keywords, labels or numbers', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le, op) (rate(chat_gateway_request_seconds_bucket{op="message.send"}[1m])))')).toEqual([
      'chat_gateway_request_seconds_bucket',
    ]);
    expect(metricNamesIn('max(chat_shards_total) - sum(chat_shards_owned) > 0')).toEqual(['chat_shards_total', 'chat_shards_owned']);
    expect(metricNamesIn('chat:delivery_latency_seconds:p99_1m > 0.1')).toEqual(['chat:delivery_latency_seconds:p99_1m']);
    expect(metricNamesIn('sum without (instance) (up) / on(job) group_left(role) count by (job, role) (chat_build_info offset 5m) > bool 1e3')).toEqual([
      'up',
      'chat_build_info',
    ]);
    expect(metricNamesIn('sum(rate(x_total{reason=~"a|b(c)"}[5m:30s])) or vector(0)')).toEqual(['x_total']);
  });

  it('reads families from TYPE lines, histograms with their series, samples without TYPE too', () => {
    const names = exposedNames('# HELP a_seconds x\n# TYPE a_seconds histogram\n# TYPE b_total counter\nc_gauge{x="1"} 3\nd 1\n');
    expect([...names].sort()).toEqual(['a_seconds', 'a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total', 'c_gauge', 'd'].sort());
  });
});
