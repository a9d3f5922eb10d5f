/**
 * Metric names in PromQL expressions, and the metric families a /metrics page
 * exposes: what the dashboard test needs to check that every panel query names
 * a series the cluster really exports (or a recording rule of rules.yml).
 * Deliberately small: the queries of deploy/grafana/chat-cluster.json, not all
 * of PromQL (no subqueries' `@` modifiers or string-valued functions).
 */

/** Words that are PromQL syntax, never metric names. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2']);

/** Series Prometheus makes itself for every target, not on any /metrics page. */
export const SYNTHETIC_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);

/** The metric names (and recording rule names) an expression reads. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    // String literals: label values and label_replace arguments.
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    // Label matchers: {job="x", le!~"..."}.
    .replace(/\{[^}]*\}/g, ' ')
    // Range and subquery durations: [1m], [5m:30s].
    .replace(/\[[^\]]*\]/g, ' ')
    // Label lists of aggregations and vector matching: by (le, op), on(instance), group_left(role).
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Durations after offset.
    .replace(/\boffset\s+\S+/g, ' ')
    // Numbers, including 1e3 and 0x1f.
    .replace(/(?<![\w:])(?:0x[0-9a-f]+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)(?![\w:])/gi, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = stripped.slice(m.index + word.length);
    // A function or aggregation: a name followed by its argument list.
    if (/^\s*\(/.test(after)) continue;
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/**
 * The sample names a Prometheus text exposition (a /metrics page) may carry:
 * each `# TYPE` family, and for histograms and summaries their _bucket, _sum
 * and _count series. A family counts even with no sample yet (a labelled
 * counter nothing has incremented), because prom-client declares it anyway.
 */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  // Samples too, for expositions that omit TYPE lines.
  for (const m of exposition.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) names.add(m[1]!);
  return names;
}

/** Every `expr` of a Grafana dashboard's panels (rows' nested panels included), with its panel's title. */
export function dashboardQueries(dashboard: unknown): { panel: string; expr: string; legend: string }[] {
  const out: { panel: string; expr: string; legend: string }[] = [];
  const visit = (panels: unknown): void => {
    if (!Array.isArray(panels)) return;
    for (const p of panels as { title?: string; targets?: { expr?: string; legendFormat?: string }[]; panels?: unknown }[]) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '', expr: t.expr, legend: t.legendFormat ?? '' });
      visit(p.panels);
    }
  };
  visit((dashboard as { panels?: unknown }).panels);
  return out;
}

/**
 * The metric names a TypeScript source declares to prom-client (`name: 'chat_...'`
 * in a Counter, Gauge, Histogram or Summary's options), with a histogram's or
 * summary's series names: what the code can export, whether or not a running
 * process has it yet.
 */
export function declaredNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) {
    const [, kind, name] = m as unknown as [string, string, string];
    names.add(name);
    if (kind === 'Histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (kind === 'Summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}
