import Database from 'better-sqlite3';
import { BadRequestError, ChatError, InternalError, StoreUnavailableError } from '../../errors.js';
import type { AppendBatch } from '../store.js';
import type { WriterOutcome } from './sqlite-writer.js';

// What the SQLite store throws: every failure leaves it as a typed ChatError,
// and arguments are checked before anything is read or queued for the writer.

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

/** Refuses a value that is not a safe integer with BadRequestError. */
export function checkInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new BadRequestError(`${what} must be an integer, got ${value}`);
}

/** Refuses a page limit below 1 (or not an integer) with BadRequestError. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new BadRequestError(`limit must be a positive integer, got ${limit}`);
}

/** The store, not only the actor, refuses a batch that would leave a gap or mix conversations. */
export function checkBatch(batch: AppendBatch): void {
  checkInteger(batch.epoch, 'epoch');
  checkInteger(batch.expectedLastSeq, 'expectedLastSeq');
  if (batch.messages.length === 0) throw new BadRequestError('appendMessages: empty batch');
  const keys = new Set<string>();
  batch.messages.forEach((message, i) => {
    if (message.conversationId !== batch.conversationId) {
      throw new BadRequestError(`appendMessages: message for ${message.conversationId} in a batch for ${batch.conversationId}`);
    }
    if (message.seq !== batch.expectedLastSeq + 1 + i) {
      throw new BadRequestError(`appendMessages: message ${i} has seq ${message.seq}, expected ${batch.expectedLastSeq + 1 + i}`);
    }
    const key = JSON.stringify([message.senderId, message.clientMsgId]);
    if (keys.has(key)) throw new BadRequestError(`appendMessages: clientMsgId ${message.clientMsgId} twice in one batch`);
    keys.add(key);
  });
}
