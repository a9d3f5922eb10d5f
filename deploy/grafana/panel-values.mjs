#!/usr/bin/env node
// Evaluates every query of the Grafana dashboard against a Prometheus and
// prints one line per query: `panel | query | current value` (each series as
// its legend=value when there are several). Exits 1 if Prometheus refuses a
// query (a PromQL error), so it doubles as a check of the dashboard.
//
//   node deploy/grafana/panel-values.mjs --prometheus http://127.0.0.1:PORT [--dashboard FILE] [--json]
//
// `npm run cluster -- --observability` prints its Prometheus URL.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    prometheus: { type: 'string' },
    dashboard: { type: 'string', default: fileURLToPath(new URL('chat-cluster.json', import.meta.url)) },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help || !values.prometheus) {
  console.error('usage: node deploy/grafana/panel-values.mjs --prometheus http://127.0.0.1:PORT [--dashboard FILE] [--json]');
  process.exit(values.help ? 0 : 2);
}
const base = values.prometheus.replace(/\/+$/, '');
const dashboard = JSON.parse(readFileSync(values.dashboard, 'utf8'));

/** Every query of the dashboard's panels (rows' nested panels included). */
function queries(panels, out = []) {
  for (const p of panels ?? []) {
    for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '', expr: t.expr, legend: t.legendFormat ?? '', unit: p.fieldConfig?.defaults?.unit ?? '' });
    queries(p.panels, out);
  }
  return out;
}

function format(value, unit) {
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  const short = (x) => (x === 0 ? '0' : Math.abs(x) >= 1000 || Math.abs(x) < 0.001 ? x.toExponential(3) : String(Number(x.toPrecision(4))));
  if (unit === 's') return n !== 0 && Math.abs(n) < 1 ? `${short(n * 1000)} ms` : `${short(n)} s`;
  if (unit === 'bytes') return `${short(n / 2 ** 20)} MiB`;
  if (unit === 'percentunit') return `${short(n * 100)} %`;
  if (unit === 'ops') return `${short(n)}/s`;
  return short(n);
}

const legendOf = (template, metric) => (template ? template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, l) => metric[l] ?? '') : JSON.stringify(metric));

let failed = 0;
const rows = [];
for (const q of queries(dashboard.panels)) {
  let shown;
  try {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
    const body = await res.json();
    if (body.status !== 'success') throw new Error(`${body.errorType}: ${body.error}`);
    const series = body.data.result;
    if (body.data.resultType === 'scalar') shown = format(series[1], q.unit);
    else if (series.length === 0) shown = '(no data)';
    else if (series.length === 1 && !/\{\{/.test(q.legend)) shown = format(series[0].value[1], q.unit);
    else shown = series.map((s) => `${legendOf(q.legend, s.metric)}=${format(s.value[1], q.unit)}`).sort().join(', ');
    rows.push({ panel: q.panel, query: q.expr, value: shown, series: series.length ?? 0 });
  } catch (err) {
    failed++;
    rows.push({ panel: q.panel, query: q.expr, value: `ERROR ${err.message}`, series: 0 });
  }
}
if (values.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log('panel | query | current value');
  for (const r of rows) console.log(`${r.panel} | ${r.query} | ${r.value}`);
}
process.exit(failed > 0 ? 1 : 0);
