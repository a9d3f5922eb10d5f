import { pino, type Logger } from 'pino';

export type { Logger };

export const DEFAULT_LOG_LEVEL = 'info';

/**
 * The structured logger every role uses: JSON lines on stdout (pino), one
 * `role` field per process role so mixed logs stay attributable.
 */
export function createLogger(options: { level?: string; role?: string } = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? DEFAULT_LOG_LEVEL,
    base: { pid: process.pid, ...(options.role ? { role: options.role } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that writes nothing (tests, tools). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
