import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/**
 * Latency histograms (HdrHistogram, microseconds, 3 significant digits) and
 * counters: what workers record, ship to the coordinator every second
 * (compressed base64 over IPC) and the coordinator merges.
 */

const HIGHEST_US = 60_000_000;

export function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

/** Records a duration given in milliseconds (fractions allowed) as whole microseconds. */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
}

export function encode(h: Histogram): string {
  return h.totalCount === 0 ? '' : encodeIntoCompressedBase64(h);
}

export function decode(encoded: string): Histogram | null {
  return encoded === '' ? null : decodeFromCompressedBase64(encoded);
}

/** Percentiles in milliseconds, as printed and stored in the JSON result. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    mean: Math.round(h.mean) / 1000,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

/** Event counts; every field but the gauges is a delta over the interval it covers. */
export interface Counters {
  sent: number;
  acked: number;
  received: number;
  connected: number;
  connectFailed: number;
  /** Failed requests and broken sockets, by error code (`rate_limited`, `timeout`, `closed:1006`, ...). */
  errors: Record<string, number>;
}

export function newCounters(): Counters {
  return { sent: 0, acked: 0, received: 0, connected: 0, connectFailed: 0, errors: {} };
}

export function addCounters(into: Counters, from: Counters): void {
  into.sent += from.sent;
  into.acked += from.acked;
  into.received += from.received;
  into.connected += from.connected;
  into.connectFailed += from.connectFailed;
  for (const [code, n] of Object.entries(from.errors)) into.errors[code] = (into.errors[code] ?? 0) + n;
}

export function errorTotal(c: Counters): number {
  return Object.values(c.errors).reduce((a, b) => a + b, 0);
}

/**
 * Wall-clock milliseconds with sub-millisecond resolution: the time base of
 * message timestamps and of the warm-up cutoff, shared by the coordinator and
 * the workers (all on this machine, so their clocks agree).
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** What a worker reports for one interval: counters, gauges and encoded histograms. */
export interface Snapshot {
  /** Messages sent (and connections started) in the measured window: these feed every figure. */
  counters: Counters;
  /**
   * Messages sent (and connections started) during the warm-up: counted only so
   * that each one must still arrive (loss is exact), never in a figure. Errors
   * are never split: a failed request fails the run whenever it happens.
   */
  warmup: Counters;
  /** Gauges at the end of the interval. */
  open: number;
  inflight: number;
  /** CPU time the worker process used in the interval (user + system), ms. */
  cpuMs: number;
  /** Things worth telling the user (the first unexpected closes). */
  notes: string[];
  delivery: string;
  ack: string;
  connect: string;
}

/** A snapshot with its histograms decoded once, to be added to every open window. */
export interface Decoded {
  counters: Counters;
  warmup: Counters;
  delivery: Histogram | null;
  ack: Histogram | null;
  connect: Histogram | null;
}

export function decodeSnapshot(s: Snapshot): Decoded {
  return { counters: s.counters, warmup: s.warmup, delivery: decode(s.delivery), ack: decode(s.ack), connect: decode(s.connect) };
}

/** A merged view over some time span (a second, a step, the run): counters and histograms. */
export class Window {
  readonly counters = newCounters();
  readonly warmup = newCounters();
  readonly delivery = newHistogram();
  readonly ack = newHistogram();
  readonly connect = newHistogram();
  readonly startedAt = performance.now();

  add(d: Decoded): void {
    addCounters(this.counters, d.counters);
    addCounters(this.warmup, d.warmup);
    if (d.delivery) this.delivery.add(d.delivery);
    if (d.ack) this.ack.add(d.ack);
    if (d.connect) this.connect.add(d.connect);
  }

  seconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
}

/** Formats a millisecond figure for the table. */
export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
