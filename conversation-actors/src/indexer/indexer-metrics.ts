import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Lag buckets in seconds: the 2 s objective sits between 1 and 2.5, and a reconcile of old messages lands far above. */
export const LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 5, 10, 30, 60, 300, 3600];

/** The `chat indexer` role's Prometheus metrics, registered on its process registry. */
export class IndexerMetrics {
  readonly lag: Histogram;
  readonly notices: Counter;
  readonly catchUps: Counter<'outcome'>;
  readonly reconcileRuns: Counter<'outcome'>;
  readonly reconciling: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.lag = new Histogram({
      name: 'chat_indexer_lag_seconds',
      help: 'Per catch-up of a conversation: when the index committed, minus createdAt of the newest message it indexed (how long a message waited to become searchable).',
      buckets: LAG_BUCKETS,
      registers,
    });
    this.notices = new Counter({ name: 'chat_indexer_notices_total', help: 'Change notices applied and acknowledged.', registers });
    this.catchUps = new Counter({
      name: 'chat_indexer_catch_ups_total',
      help: 'Catch-ups of one conversation from the store into the index, by outcome (ok or error; an error is retried with backoff).',
      labelNames: ['outcome'],
      registers,
    });
    this.reconcileRuns = new Counter({
      name: 'chat_indexer_reconcile_runs_total',
      help: 'Full reconciles (every conversation caught up after change notices were lost), by outcome (done, or stopped by a shutdown).',
      labelNames: ['outcome'],
      registers,
    });
    this.reconciling = new Gauge({ name: 'chat_indexer_reconciling', help: '1 while a full reconcile runs.', registers });
    // Every outcome from 0, so the first error (or reconcile) is an increase rate() sees, and the dashboard draws 0 rather than nothing.
    for (const outcome of ['ok', 'error']) this.catchUps.inc({ outcome }, 0);
    for (const outcome of ['done', 'stopped']) this.reconcileRuns.inc({ outcome }, 0);
  }
}
