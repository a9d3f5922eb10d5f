import type { Logger } from '@chat/platform';

/** Repeated warnings and backend errors of one kind are logged at most once per this interval; all are counted. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * The presence service's log for what can repeat at the rate of the updates
 * (a failing backend, a flood of invalid updates): one line per key per
 * ERROR_LOG_INTERVAL_MS, so the logs are not flooded; the metrics count
 * every occurrence.
 */
export class ThrottledLog {
  readonly #lastLog = new Map<string, number>();

  constructor(private readonly logger: Logger) {}

  /** Logs, unless a message with the same key was logged within ERROR_LOG_INTERVAL_MS (a failing backend must not flood the logs). */
  log(key: string, level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = this.#lastLog.get(key);
    if (last !== undefined && now - last < ERROR_LOG_INTERVAL_MS) return;
    this.#lastLog.set(key, now);
    this.logger[level](fields, message);
  }
}
