import { type Logger, pino } from 'pino';

/** One structured log line as pino writes it. */
export interface LogLine {
  /** pino's numeric level: 30 info, 40 warn, 50 error. */
  level: number;
  msg: string;
  [field: string]: unknown;
}

/**
 * A real pino logger (debug and up) whose lines are parsed into `lines`, so
 * a test can assert what was logged through the same Logger type library
 * code takes.
 */
export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}
