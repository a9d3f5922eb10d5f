import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BadRequestError, StoreCannotWriteError, StoreUnavailableError, isNoRetry } from '../../errors.js';
import { toStoreError, writeError } from './sqlite-errors.js';

// The driver's own error class, as better-sqlite3 throws it.
const sqliteError = (message: string, code: string) => new Database.SqliteError(message, code);

describe('SQLite errors as typed store errors', () => {
  it('a file system that will not take a write (full, read-only, I/O error) is StoreCannotWriteError: unavailable, not to be resent', () => {
    for (const code of ['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_CANTOPEN']) {
      const mapped = toStoreError(sqliteError('database or disk is full', code), 'appendMessages');
      expect(mapped, code).toBeInstanceOf(StoreCannotWriteError);
      expect(mapped.code, code).toBe('unavailable');
      expect(isNoRetry(mapped), code).toBe(true);
    }
    expect(writeError('appendMessages', { kind: 'error', message: 'database or disk is full', code: 'SQLITE_FULL' })).toBeInstanceOf(StoreCannotWriteError);
  });

  it('a busy or locked database stays a plain StoreUnavailableError (worth resending); a constraint is the request’s fault', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CORRUPT']) {
      const mapped = toStoreError(sqliteError('database is locked', code), 'x');
      expect(mapped, code).toBeInstanceOf(StoreUnavailableError);
      expect(isNoRetry(mapped), code).toBe(false);
    }
    expect(toStoreError(sqliteError('UNIQUE constraint failed', 'SQLITE_CONSTRAINT_UNIQUE'), 'x')).toBeInstanceOf(BadRequestError);
    expect(isNoRetry(writeError('x', { kind: 'error', message: 'busy', code: 'SQLITE_BUSY' }))).toBe(false);
  });
});
