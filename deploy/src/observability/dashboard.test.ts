import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deployRoot } from '../paths.js';
import { grafanaDashboardFile, prometheusRulesFile, recordedNames } from './prometheus-files.js';
import { dashboardQueries, declaredNames, exposedNames, metricNamesIn } from './promql-names.js';

/** The product packages' sources (tests aside): where every metric the processes export is declared. */
const PRODUCT_SOURCES = ['platform', 'proto', 'conversation-actors', 'edge-gateway', 'presence', 'deploy'].map((p) => join(deployRoot(), '..', p, 'src'));

function declaredInSources(): Set<string> {
  const names = new Set<string>();
  for (const dir of PRODUCT_SOURCES) {
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.endsWith('.d.ts')) continue;
      for (const n of declaredNames(readFileSync(join(dir, file), 'utf8'))) names.add(n);
    }
  }
  return names;
}

/** Every `expr` of rules.yml (recording rules and alerts), with its rule's name. */
function ruleExpressions(): { rule: string; expr: string }[] {
  const rules = parse(readFileSync(prometheusRulesFile(), 'utf8')) as { groups: { rules: { record?: string; alert?: string; expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ rule: r.record ?? r.alert ?? '', expr: String(r.expr) })));
}

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
    const bounded = new Set(['job', 'instance', 'role', 'op', 'outcome', 'reason', 'kind', 'target', 'event', 'le']);
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

describe('metric names the dashboard and the rules read, against the code', () => {
  // cluster.observability.test.ts checks the same against live /metrics pages of a running cluster;
  // this catches a misspelt or removed metric without one, including those of roles it may not run.
  const declared = declaredInSources();

  it('every chat_* metric a dashboard panel or a rule reads is declared by the product code (recording rules aside)', () => {
    expect(declared.size).toBeGreaterThan(30);
    const dashboard = JSON.parse(readFileSync(grafanaDashboardFile(), 'utf8')) as unknown;
    const reads = [...dashboardQueries(dashboard).map((q) => ({ where: `panel ${q.panel}`, expr: q.expr })), ...ruleExpressions().map((r) => ({ where: `rule ${r.rule}`, expr: r.expr }))];
    const missing: string[] = [];
    for (const { where, expr } of reads) {
      for (const name of metricNamesIn(expr)) if (name.startsWith('chat_') && !declared.has(name)) missing.push(`${where}: ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it('the dashboard has the search indexer: lag against its 2 s target, throughput and errors, from the metrics the indexer exports', () => {
    const dashboard = JSON.parse(readFileSync(grafanaDashboardFile(), 'utf8')) as { panels: Panel[] };
    const queries = dashboardQueries(dashboard);
    const reading = (name: string) => queries.filter((q) => metricNamesIn(q.expr).includes(name)).map((q) => q.panel);
    for (const name of ['chat_indexer_lag_seconds_bucket', 'chat_indexer_notices_total', 'chat_indexer_catch_ups_total', 'chat_indexer_reconciling']) {
      expect(declared.has(name), name).toBe(true);
      expect(reading(name), name).not.toEqual([]);
    }
    expect(queries.some((q) => q.expr.includes('chat_indexer_catch_ups_total{outcome="error"}'))).toBe(true);
    const lag = dashboard.panels.find((p) => p.targets?.some((t) => t.expr === 'chat:indexer_lag_seconds:p99_1m'))!;
    expect(lag).toBeDefined();
    const defaults = lag.fieldConfig!.defaults as { unit: string; thresholds: { steps: { value: number | null }[] } };
    expect(defaults.unit).toBe('s');
    expect(defaults.thresholds.steps.map((s) => s.value)).toContain(2);
    // And the gRPC side of the gateways' connection budget.
    expect(reading('chat_gateway_grpc_connections')).not.toEqual([]);
    expect(reading('chat_gateway_grpc_connections_rejected_total')).not.toEqual([]);
  });

  it('declaredNames finds prom-client declarations with their histogram series, and nothing else', () => {
    const names = declaredNames(
      "new Histogram({ name: 'a_seconds', help: 'x' }); new Counter<'outcome'>({\n  name: 'b_total', help: 'y' }); new Gauge({ name: 'c' }); const label = { name: 'not_a_metric' };",
    );
    expect([...names].sort()).toEqual(['a_seconds', 'a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total', 'c']);
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
