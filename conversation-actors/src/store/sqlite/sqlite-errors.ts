import Database from 'better-sqlite3';
import { BadRequestError, ChatError, InternalError, StoreUnavailableError } from '../../errors.js';
import type { WriterOutcome } from './sqlite-writer.js';

// What the SQLite store throws: every failure leaves it as a typed ChatError.

/** The typed error for a writer outcome that is not the expected one. */
export function writeError(what: string, outcome: WriterOutcome): ChatError {
  if (outcome.kind === 'error') {
    return outcome.code?.startsWith('SQLITE_CONSTRAINT')
      ? new BadRequestError(`${what}: ${outcome.message}`)
      : new StoreUnavailableError(`${what}: ${outcome.message}`);
  }
  return new InternalError(`${what}: unexpected writer outcome ${outcome.kind}`);
}

/**
 * Our typed errors pass through; the driver's become ours: a broken constraint
 * is the request's fault (BadRequestError), any other SQLite failure (busy,
 * I/O, full disk, corruption) is StoreUnavailableError; anything else is a bug.
 */
export function toStoreError(err: unknown, what: string): ChatError {
  if (err instanceof ChatError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Database.SqliteError) {
    if (err.code.startsWith('SQLITE_CONSTRAINT')) return new BadRequestError(`${what}: ${message}`, { cause: err });
    return new StoreUnavailableError(`${what}: ${message}`, { cause: err });
  }
  return new InternalError(`${what}: ${message}`, { cause: err });
}
