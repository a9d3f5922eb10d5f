import { CodedError, type ErrorCode } from '@chat/proto';

/**
 * Typed errors of the conversation actors and their store. Each maps to one
 * protocol error code; the actor replies with that code and the message, and
 * keeps the cause for the log.
 */
export abstract class ChatError extends CodedError {}

export class BadRequestError extends ChatError {
  readonly code = 'bad_request';
}

/** Not a member, or not allowed. Says nothing about the conversation itself. */
export class ForbiddenError extends ChatError {
  readonly code = 'forbidden';
  constructor(message = 'not a member of this conversation', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The store has no message search index (e.g. the Cassandra store); not retryable. */
export class SearchUnsupportedError extends ChatError {
  readonly code = 'bad_request';
  constructor(message = 'message search is not available on this deployment', options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class NotFoundError extends ChatError {
  readonly code = 'not_found';
}

export class ConflictError extends ChatError {
  readonly code = 'conflict';
}

/** The store could not be reached or timed out. Retryable; nothing was acknowledged. */
export class StoreUnavailableError extends ChatError {
  readonly code = 'unavailable';
}

/**
 * The store cannot write at all for now: disk full, read-only file system,
 * I/O error. Still `unavailable` to clients (nothing was acknowledged), but
 * resending at once cannot help, so the reply says not to retry (the gateway
 * answers the client at once instead of spending its retry budget), and the
 * host reports not ready until a write succeeds again (WriteHealth).
 */
export class StoreCannotWriteError extends StoreUnavailableError {
  readonly noRetry = true;
}

/** Whether resending the request that failed with `err` cannot help now (see StoreCannotWriteError). */
export function isNoRetry(err: unknown): boolean {
  return err instanceof StoreCannotWriteError;
}

/**
 * A write carried an epoch older than the one recorded for the conversation:
 * another host owns it now. The writer must stop serving the conversation.
 */
export class StaleEpochError extends ChatError {
  readonly code = 'unavailable';
  constructor(
    readonly conversationId: string,
    readonly epoch: number,
    readonly recordedEpoch: number,
    options?: { cause?: unknown },
  ) {
    super(`write to ${conversationId} with epoch ${epoch} refused: epoch ${recordedEpoch} is recorded`, options);
  }
}

/**
 * The conversation's stored head is not what the writer expected (its lastSeq
 * moved): the writer's in-memory head is stale and must be reloaded.
 */
export class SeqConflictError extends ChatError {
  readonly code = 'unavailable';
  constructor(
    readonly conversationId: string,
    readonly expectedLastSeq: number,
    readonly actualLastSeq: number,
    options?: { cause?: unknown },
  ) {
    super(`append to ${conversationId} expected lastSeq ${expectedLastSeq}, store has ${actualLastSeq}`, options);
  }
}

/** This host no longer (validly) owns the conversation's shard: nothing was written. Retryable. */
export class NotOwnedError extends ChatError {
  readonly code = 'unavailable';
  constructor(readonly conversationId: string, options?: { cause?: unknown }) {
    super(`${conversationId} is not served by this host now; retry`, options);
  }
}

/** The actor's mailbox is full; the caller may retry later. */
export class OverloadedError extends ChatError {
  readonly code = 'unavailable';
}

/** Anything unexpected. */
export class InternalError extends ChatError {
  readonly code = 'internal';
}

/** The protocol code for any thrown value: typed errors keep theirs, the rest are `internal`. */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof ChatError ? err.code : 'internal';
}
