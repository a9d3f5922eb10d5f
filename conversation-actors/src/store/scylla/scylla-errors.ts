import { errors, types } from 'cassandra-driver';
import { ChatError, InternalError, StoreCannotWriteError, StoreUnavailableError } from '../../errors.js';

// The driver's errors as the store's typed errors. Retryable (the cluster is
// unreachable, overloaded or slow: StoreUnavailableError, protocol code
// `unavailable`) versus fatal (our CQL or schema is wrong: InternalError). A
// timeout is retryable but not a "no": the write may still land, which is why
// nothing is acknowledged before the driver says it succeeded, and why every
// write of the store is idempotent or fenced (DESIGN.md, "Failures").

const codes = types.responseErrorCodes;

/** Server answers that mean "not now": the request may succeed if tried again. */
const RETRYABLE_RESPONSE_CODES: ReadonlySet<number> = new Set([
  codes.unavailableException,
  codes.overloaded,
  codes.isBootstrapping,
  codes.writeTimeout,
  codes.readTimeout,
  codes.readFailure,
  codes.writeFailure,
  codes.truncateError,
  codes.serverError,
  // The server forgot a prepared statement; the driver re-prepares by itself, so one surfacing is transient.
  codes.unprepared,
]);

/**
 * Our typed errors pass through; the driver's become ours:
 * - NoHostAvailableError (no node reachable), OperationTimedOutError (no
 *   answer within the client timeout), BusyConnectionError, and a
 *   ResponseError for unavailable, overloaded, bootstrapping, read/write
 *   timeout or failure, or a server error: StoreUnavailableError (retryable);
 *   a write failure (replicas could not write) as its subclass
 *   StoreCannotWriteError, which the gateway does not resend;
 * - a ResponseError for syntax, invalid request, unauthorized, config or
 *   protocol errors, AuthenticationError, ArgumentError and anything else:
 *   InternalError (a bug or a misconfiguration; retrying will not help).
 */
export function toStoreError(err: unknown, what: string): ChatError {
  if (err instanceof ChatError) return err;
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof errors.NoHostAvailableError || err instanceof errors.OperationTimedOutError || err instanceof errors.BusyConnectionError) {
    return new StoreUnavailableError(message, { cause: err });
  }
  if (err instanceof errors.ResponseError) {
    // Replicas answered that they failed the write (a full or failing disk, as
    // SQLite's SQLITE_FULL): not worth resending at once, and not ready.
    if (err.code === codes.writeFailure) return new StoreCannotWriteError(message, { cause: err });
    return RETRYABLE_RESPONSE_CODES.has(err.code)
      ? new StoreUnavailableError(message, { cause: err })
      : new InternalError(`${message} (CQL error 0x${err.code.toString(16).padStart(4, '0')})`, { cause: err });
  }
  return new InternalError(message, { cause: err });
}

/** Whether a write that failed with `err` may be sent again as it is (a retryable store failure). */
export function isRetryable(err: unknown): boolean {
  return toStoreError(err, '') instanceof StoreUnavailableError;
}
