import { Registry, collectDefaultMetrics } from 'prom-client';
import { registerBuildInfo } from './build-info.js';

export { Registry };

/**
 * How often the event loop lag is sampled, in ms. prom-client's default (10)
 * arms a timer that wakes every process 100 times a second: 0.004 cores per
 * idle process, a third of an idle cluster's whole budget. At 100 ms a stall
 * long enough to matter (tens of ms and up) still lands in the histogram.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * A Prometheus registry with the process metrics (CPU, memory, event loop lag,
 * GC) and chat_build_info for `role` already registered. Every role in a process registers its own metrics
 * on the one registry that process's /metrics serves.
 */
export function createMetricsRegistry(role: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  registerBuildInfo(registry, role);
  return registry;
}

/** Latency buckets in seconds, from 50 µs to 10 s: fine enough for sub-ms in-process hops. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
