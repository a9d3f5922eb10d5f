import { pino, type Logger } from 'pino';
import { ConfigError } from './errors.js';
import { LOG_LEVELS } from './config.js';

export type { Logger };

export const DEFAULT_LOG_LEVEL = 'info';

/**
 * The structured logger every role uses: JSON lines on stdout (pino), one
 * `role` field per process role so mixed logs stay attributable. Throws
 * ConfigError naming LOG_LEVEL when the level is not one of LOG_LEVELS.
 */
export function createLogger(options: { level?: string; role?: string } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? DEFAULT_LOG_LEVEL;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError([`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(level)})`]);
  return pino({
    level,
    base: { pid: process.pid, ...(options.role ? { role: options.role } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that writes nothing (tests, tools). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
