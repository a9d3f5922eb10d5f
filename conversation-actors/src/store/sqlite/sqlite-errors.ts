import Database from 'better-sqlite3';
import { BadRequestError, ChatError, InternalError, StoreCannotWriteError, StoreUnavailableError } from '../../errors.js';
import type { WriterOutcome } from './sqlite-writer.js';

// What the SQLite store throws: every failure leaves it as a typed ChatError.

/**
 * SQLite result codes (extended ones start with these) meaning the file
 * system will not take a write now: disk full, read-only file or file system,
 * I/O error, a journal or WAL file that cannot be created. Resending at once
 * cannot help; they end when an operator frees space or remounts.
 */
const CANNOT_WRITE_CODES = ['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_CANTOPEN'];

/** Whether a SQLite error code means the store cannot write (see CANNOT_WRITE_CODES). */
export function isCannotWriteCode(code: string | undefined): boolean {
  return code !== undefined && CANNOT_WRITE_CODES.some((prefix) => code === prefix || code.startsWith(`${prefix}_`));
}

/** The typed error for a SQLite failure with `code` that is not the request's fault. */
export function sqliteFailure(message: string, code: string | undefined, cause?: unknown): StoreUnavailableError {
  return isCannotWriteCode(code) ? new StoreCannotWriteError(message, { cause }) : new StoreUnavailableError(message, { cause });
}

/** The typed error for a writer outcome that is not the expected one. */
export function writeError(what: string, outcome: WriterOutcome): ChatError {
  if (outcome.kind === 'error') {
    return outcome.code?.startsWith('SQLITE_CONSTRAINT')
      ? new BadRequestError(`${what}: ${outcome.message}`)
      : sqliteFailure(`${what}: ${outcome.message}`, outcome.code);
  }
  return new InternalError(`${what}: unexpected writer outcome ${outcome.kind}`);
}

/**
 * Our typed errors pass through; the driver's become ours: a broken constraint
 * is the request's fault (BadRequestError), a file system that will not take a
 * write (full, read-only, I/O error) is StoreCannotWriteError, any other SQLite
 * failure (busy, corruption) is StoreUnavailableError; anything else is a bug.
 */
export function toStoreError(err: unknown, what: string): ChatError {
  if (err instanceof ChatError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Database.SqliteError) {
    if (err.code.startsWith('SQLITE_CONSTRAINT')) return new BadRequestError(`${what}: ${message}`, { cause: err });
    return sqliteFailure(`${what}: ${message}`, err.code, err);
  }
  return new InternalError(`${what}: ${message}`, { cause: err });
}
