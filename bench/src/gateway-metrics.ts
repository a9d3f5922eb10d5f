/**
 * Scrapes the servers' Prometheus `/metrics` before and after a phase and
 * turns the difference into figures: memory per connection, CPU use, and the
 * server-side latency histograms (mean and an approximate p99 from buckets).
 */

import { type MetricSample, parseMetricsText } from '@chat/platform/metrics-text';

export interface Scrape {
  url: string;
  /** performance.now() when the scrape returned. */
  at: number;
  samples: MetricSample[];
  error?: string;
}

/** The server-side histograms worth comparing with the bench's own figures. */
export const SERVER_HISTOGRAMS = [
  { name: 'chat_delivery_latency_seconds', label: 'delivery (recv → write, sender incl.)', unit: 'ms' },
  { name: 'chat_bus_request_seconds', label: 'bus request (gateway ↔ actor)', unit: 'ms' },
  { name: 'chat_actor_mailbox_wait_seconds', label: 'actor mailbox wait', unit: 'ms' },
  { name: 'chat_store_write_seconds', label: 'store write (one batch)', unit: 'ms' },
  { name: 'chat_actor_commit_batch_size', label: 'commit batch size (messages)', unit: '' },
  // A `chat indexer` among --metrics-url (SEARCH=postgres): commit to searchable, per catch-up.
  { name: 'chat_indexer_lag_seconds', label: 'indexing lag (message → searchable)', unit: 'ms' },
] as const;

export interface HistogramDelta {
  name: string;
  label: string;
  unit: string;
  count: number;
  /** Mean and quantiles in the unit (ms for the *_seconds histograms); NaN when nothing was observed. */
  mean: number;
  p50: number;
  p99: number;
  /** The quantile fell into the +Inf bucket: the value is the highest finite bound. */
  p99Overflow: boolean;
  buckets: Array<[string, number]>;
}

export async function scrape(url: string): Promise<Scrape> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return { url, at: performance.now(), samples: parseMetricsText(await res.text()) };
  } catch (err) {
    return { url, at: performance.now(), samples: [], error: err instanceof Error ? err.message : String(err) };
  }
}

export function scrapeAll(urls: string[]): Promise<Scrape[]> {
  return Promise.all(urls.map(scrape));
}

/** Sum of every series of `name` (over labels); null if the process does not export it. */
export function value(s: Scrape, name: string): number | null {
  const found = s.samples.filter((x) => x.name === name);
  return found.length === 0 ? null : found.reduce((a, x) => a + x.value, 0);
}

/** `name`'s buckets, sum and count over every label set and process, after minus before. */
export function histogramDelta(before: Scrape[], after: Scrape[], name: string, label: string, unit: string): HistogramDelta {
  const scale = unit === 'ms' ? 1000 : 1;
  const total = (scrapes: Scrape[], suffix: string) => scrapes.reduce((a, s) => a + (value(s, name + suffix) ?? 0), 0);
  const buckets = new Map<string, number>();
  for (const [scrapes, sign] of [
    [after, 1],
    [before, -1],
  ] as const) {
    for (const s of scrapes)
      for (const x of s.samples) if (x.name === `${name}_bucket` && x.labels.le) buckets.set(x.labels.le, (buckets.get(x.labels.le) ?? 0) + sign * x.value);
  }
  const sorted = [...buckets].sort((a, b) => Number(a[0]) - Number(b[0]));
  const count = total(after, '_count') - total(before, '_count');
  const sum = total(after, '_sum') - total(before, '_sum');
  const p50 = quantile(sorted, 0.5);
  const p99 = quantile(sorted, 0.99);
  return {
    name,
    label,
    unit,
    count,
    mean: count > 0 ? (sum / count) * scale : NaN,
    p50: p50.value * scale,
    p99: p99.value * scale,
    p99Overflow: p99.overflow,
    buckets: sorted,
  };
}

/** Like PromQL's histogram_quantile: linear interpolation inside the bucket that holds the rank. */
export function quantile(cumulative: Array<[string, number]>, q: number): { value: number; overflow: boolean } {
  const total = cumulative.at(-1)?.[1] ?? 0;
  if (total <= 0) return { value: NaN, overflow: false };
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of cumulative) {
    if (count >= rank) {
      if (le === '+Inf') return { value: lowerBound, overflow: true };
      const upper = Number(le);
      const inBucket = count - lowerCount;
      return { value: inBucket > 0 ? lowerBound + ((upper - lowerBound) * (rank - lowerCount)) / inBucket : upper, overflow: false };
    }
    lowerBound = Number(le);
    lowerCount = count;
  }
  return { value: lowerBound, overflow: true };
}

export interface ProcessDelta {
  url: string;
  error: string | null;
  rssBefore: number | null;
  rssAfter: number | null;
  connectionsBefore: number | null;
  connectionsAfter: number | null;
  /** CPU used over the span, in cores (1 = one core busy all the time). */
  cpuCores: number | null;
  eventLoopLagP99Ms: number | null;
  messagesStored: number | null;
  eventsDelivered: number | null;
}

export function processDeltas(before: Scrape[], after: Scrape[]): ProcessDelta[] {
  return after.map((a) => {
    const b = before.find((x) => x.url === a.url);
    const diff = (name: string) => {
      const va = value(a, name);
      const vb = b ? value(b, name) : null;
      return va === null || vb === null ? null : va - vb;
    };
    const cpu = diff('process_cpu_seconds_total');
    const lag = value(a, 'nodejs_eventloop_lag_p99_seconds');
    return {
      url: a.url,
      error: a.error ?? b?.error ?? null,
      rssBefore: b ? value(b, 'process_resident_memory_bytes') : null,
      rssAfter: value(a, 'process_resident_memory_bytes'),
      connectionsBefore: b ? value(b, 'chat_gateway_connections') : null,
      connectionsAfter: value(a, 'chat_gateway_connections'),
      cpuCores: cpu === null || !b ? null : Math.round((cpu / ((a.at - b.at) / 1000)) * 100) / 100,
      eventLoopLagP99Ms: lag === null ? null : lag * 1000,
      messagesStored: diff('chat_messages_stored_total'),
      eventsDelivered: diff('chat_gateway_events_delivered_total'),
    };
  });
}

/** (Σ rss after − Σ rss before) / Σ connections added, over the processes that serve connections. */
export function memoryPerConnection(deltas: ProcessDelta[]): number | null {
  let rss = 0;
  let conns = 0;
  for (const d of deltas) {
    if (d.rssBefore === null || d.rssAfter === null || d.connectionsBefore === null || d.connectionsAfter === null) continue;
    rss += d.rssAfter - d.rssBefore;
    conns += d.connectionsAfter - d.connectionsBefore;
  }
  return conns > 0 ? rss / conns : null;
}

export function serverHistograms(before: Scrape[], after: Scrape[]): HistogramDelta[] {
  return SERVER_HISTOGRAMS.map((h) => histogramDelta(before, after, h.name, h.label, h.unit));
}
