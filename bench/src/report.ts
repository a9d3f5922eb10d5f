import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from './chart.js';
import type { Options } from './cli.js';
import { processDeltas, serverHistograms, type HistogramDelta, type ProcessDelta } from './gateway-metrics.js';
import type { WarmupSummary } from './measurement.js';
import type { SecondPoint } from './progress.js';
import type { Outcome } from './scenario.js';
import type { CpuReport } from './server-cpu.js';
import { fmtMs, summarize, type LatencySummary, type Window } from './stats.js';
import { judge, verdictLine, type Target, type Verdict } from './verdict.js';

/** Everything a run produced: what the JSON result holds and the table is printed from. */
export interface Report {
  scenario: string;
  startedAt: string;
  finishedAt: string;
  /** The same as verdict.pass: the exit code is 0 only then. */
  ok: boolean;
  verdict: Verdict;
  target: Target;
  failure: string | null;
  parameters: Record<string, string | number>;
  options: Options;
  measuredSeconds: number;
  throughput: { sentPerSec: number; ackedPerSec: number; receivedPerSec: number };
  sent: number;
  acked: number;
  received: number;
  /** Copies of messages sent in the measured window that never arrived (warm-up losses are in warmup.lost). */
  lost: number;
  /** Every failed request of the run, setup and warm-up included: a failure counts whenever it happens. */
  errors: number;
  errorsByCode: Record<string, number>;
  latency: { delivery: LatencySummary; ack: LatencySummary; connect: LatencySummary };
  warmup: WarmupSummary;
  /** Server CPU over the measured window (/proc), per delivered message. */
  cpu: CpuReport;
  server: { histograms: HistogramDelta[]; processes: ProcessDelta[] };
  generatorCpu: { mean: number; peak: number };
  scenarioData: Record<string, unknown>;
  lines: string[];
  series: SecondPoint[];
}

export function buildReport(opts: Options, outcome: Outcome, total: Window, series: SecondPoint[], startedAt: Date): Report {
  const m = outcome.measured;
  const errorsByCode = { ...total.counters.errors };
  if (outcome.unanswered > 0) errorsByCode.no_reply = (errorsByCode.no_reply ?? 0) + outcome.unanswered;
  const errors = Object.values(errorsByCode).reduce((a, b) => a + b, 0);
  const s = outcome.measuredSeconds;
  const cpu = series.map((p) => p.generatorCpu);
  const latency = { delivery: summarize(m.delivery), ack: summarize(m.ack), connect: summarize(total.connect) };
  const judged = latency[outcome.chart.of];
  const target: Target = { p99Ms: opts.p99Ms, appliesTo: outcome.target };
  const verdict = judge({
    target,
    p99: judged.p99,
    samples: judged.count,
    lost: outcome.lost + outcome.warmup.lost,
    errors,
    failure: outcome.failure ?? null,
    targetMiss: outcome.targetMiss,
  });
  return {
    scenario: opts.scenario,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ok: verdict.pass,
    verdict,
    target,
    failure: outcome.failure ?? null,
    parameters: outcome.parameters,
    options: opts,
    measuredSeconds: s,
    throughput: { sentPerSec: m.counters.sent / s, ackedPerSec: m.counters.acked / s, receivedPerSec: m.counters.received / s },
    sent: m.counters.sent,
    acked: m.counters.acked,
    received: m.counters.received,
    lost: outcome.lost,
    errors,
    errorsByCode,
    latency,
    warmup: outcome.warmup,
    cpu: outcome.cpu,
    server: { histograms: serverHistograms(outcome.before, outcome.after), processes: processDeltas(outcome.before, outcome.after) },
    generatorCpu: { mean: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : 0, peak: Math.max(0, ...cpu) },
    scenarioData: outcome.data,
    lines: outcome.lines,
    series,
  };
}

export function renderTable(r: Report, files: { json: string; svg: string }): string {
  const out: string[] = [];
  const rate = (v: number) => `${v.toFixed(1)} msg/s`;
  out.push('', `== ${r.scenario} == ${r.ok ? 'PASS' : 'FAIL'}  (${r.startedAt})`);
  out.push(`parameters       ${Object.entries(r.parameters).map(([k, v]) => `${k}=${v}`).join('  ')}`);
  out.push(`gateways         ${r.options.urls.join(', ')}`);
  if (r.scenario !== 'connections') {
    out.push(`measured         ${r.measuredSeconds.toFixed(1)} s ${r.scenario === 'max-throughput' ? '(every step, drains included)' : 'of sending'}`);
    out.push(`throughput       sent ${rate(r.throughput.sentPerSec)}  acked ${rate(r.throughput.ackedPerSec)}  received ${rate(r.throughput.receivedPerSec)}`);
    out.push(`messages         sent ${r.sent}  acked ${r.acked}  received ${r.received}  lost ${r.lost}`);
  }
  out.push(warmupLine(r));
  const byCode = Object.entries(r.errorsByCode).map(([k, v]) => `${k} ${v}`);
  out.push(`errors           ${r.errors}${byCode.length ? `  (${byCode.join(', ')})` : ''}`);
  if (r.failure) out.push(`failure          ${r.failure}`);
  out.push(...r.lines);
  out.push('', 'latency (ms)        count      p50      p90      p99    p99.9      max     mean');
  const row = (name: string, s: LatencySummary) =>
    `${name.padEnd(15)} ${String(s.count).padStart(9)} ${[s.p50, s.p90, s.p99, s.p999, s.max, s.mean].map((v) => fmtMs(v).padStart(8)).join(' ')}`;
  if (r.scenario !== 'connections') out.push(row('delivery', r.latency.delivery), row('ack', r.latency.ack));
  if (r.latency.connect.count > 0) out.push(row('connect', r.latency.connect));
  out.push('', 'server side (/metrics, after − before)          count      mean      ~p50      ~p99');
  const observed = r.server.histograms.filter((h) => h.count > 0);
  if (observed.length === 0) out.push('server           (no observations in these histograms)');
  for (const h of observed) {
    const v = (x: number, overflow = false) => (Number.isFinite(x) ? `${overflow ? '>' : ''}${h.unit === 'ms' ? fmtMs(x) : x.toFixed(1)}` : '-');
    out.push(`server ${h.label.padEnd(40)} ${String(h.count).padStart(8)} ${v(h.mean).padStart(9)} ${v(h.p50).padStart(9)} ${v(h.p99, h.p99Overflow).padStart(9)}`);
  }
  for (const p of r.server.processes) {
    const cpu = p.cpuCores === null ? '-' : `${p.cpuCores.toFixed(2)} cores`;
    const rss = p.rssAfter === null ? '-' : `${(p.rssAfter / 1048576).toFixed(0)} MiB`;
    out.push(`server process   ${p.url}: cpu ${cpu}, rss ${rss}${p.error ? `, scrape failed: ${p.error}` : ''}`);
  }
  out.push(`generator        cpu ${r.generatorCpu.mean.toFixed(2)} cores mean, ${r.generatorCpu.peak.toFixed(2)} peak (${r.options.workers} workers)`);
  out.push('', ...cpuLines(r.cpu));
  out.push('', `verdict          ${verdictLine(r.verdict)}`);
  out.push('', `results          ${files.json}`, `                 ${files.svg}`, '');
  return out.join('\n');
}

function warmupLine(r: Report): string {
  const w = r.warmup;
  if (w.seconds === 0) return 'warm-up          none (--warmup 0): every figure covers the whole run';
  const what =
    r.scenario === 'connections'
      ? `${w.connected} connections opened then`
      : `sent ${w.sent}, acked ${w.acked}, received ${w.received} of ${w.expected}, lost ${w.lost}`;
  return `warm-up          ${w.seconds} s, in no figure: ${what}`;
}

/** The server CPU block: the total per delivered message, then each process. */
export function cpuLines(c: CpuReport): string[] {
  const per = c.per === 'connection' ? 'connection opened' : 'delivered message';
  const out: string[] = [];
  if (c.totalSeconds === null) out.push(`server cpu       not measured (${c.perProcess.length === 0 ? 'no local server process found' : 'no process could be read'})`);
  else {
    const us = c.usPer === null ? '-' : `${c.usPer.toFixed(1)} µs`;
    out.push(
      `server cpu       ${us} per ${per}: ${c.totalSeconds.toFixed(2)} s over ${c.windowSeconds.toFixed(1)} s (${c.cores!.toFixed(2)} cores), ` +
        `${c.count} ${c.per === 'connection' ? 'connections' : 'delivered'}, ${c.perProcess.length} process${c.perProcess.length === 1 ? '' : 'es'}`,
    );
    for (const p of c.perProcess) {
      if (p.cpuSeconds === null) continue; // listed with the reason below
      const perUnit = c.count > 0 ? `  ${((p.cpuSeconds * 1e6) / c.count).toFixed(1)} µs/${c.per === 'connection' ? 'conn' : 'msg'}` : '';
      out.push(`  ${`${p.name} (pid ${p.pid})`.padEnd(40)} ${p.cpuSeconds.toFixed(2)} s  ${p.cores!.toFixed(2)} cores${perUnit}   [${p.sources.join(', ')}]`);
    }
  }
  for (const reason of c.notMeasured) out.push(`  not measured: ${reason}`);
  return out;
}

export function renderChart(r: Report, outcome: Outcome): string {
  const of = outcome.chart.of;
  const pick = (k: 'p50' | 'p90' | 'p99') => r.series.map((p): [number, number | null] => [p.t, p[of].count > 0 ? p[of][k] : null]);
  return lineChart({
    title: outcome.chart.title,
    xLabel: 'time since start (s)',
    yLabel: of === 'delivery' ? 'delivery latency, send → receive (ms)' : 'connect time, upgrade → hello (ms)',
    lines: [
      { name: 'p50', color: '#1f77b4', points: pick('p50') },
      { name: 'p90', color: '#ff7f0e', points: pick('p90') },
      { name: 'p99', color: '#d62728', points: pick('p99') },
    ],
    markers: outcome.chart.markers,
    targets: [{ y: r.target.p99Ms, label: `p99 target ${r.target.p99Ms} ms` }],
  });
}

/** Writes `<ISO timestamp>-<scenario>.json` and `.svg` into `dir`. */
export function writeResults(dir: string, r: Report, svg: string): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${r.startedAt.replace(/[:.]/g, '-')}-${r.scenario}`);
  const files = { json: `${base}.json`, svg: `${base}.svg` };
  writeFileSync(files.json, JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  writeFileSync(files.svg, svg);
  return files;
}
