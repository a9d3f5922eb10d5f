import { type BackoffOptions, RequestError, backoffDelay } from '@chat/client';

/**
 * When a failed send goes out again by itself. A send is idempotent (the
 * server keeps its clientMsgId), so resending after a failure that may pass
 * later is safe: it is retried with backoff, honouring the server's
 * `retryAfterMs`, a bounded number of times; only then, or after a failure
 * resending cannot help, does it show as failed with a Retry button.
 */
export interface SendRetryPolicy {
  /** Automatic resends of one message before its failure is final. */
  readonly maxRetries: number;
  /** Delays between resends (retry n waits about baseMs · 2^(n-1), capped at maxMs, jittered). */
  readonly backoff: BackoffOptions;
}

export const SEND_RETRY: SendRetryPolicy = { maxRetries: 6, backoff: { baseMs: 1_000, maxMs: 30_000 } };

/** A server's `internal` error may be a passing fault: tried again this many times, no more. */
const INTERNAL_RETRIES = 1;

/**
 * The wait (ms) before resending a send that failed with `err` for the
 * `failures`-th time (1 for the first), or undefined when the failure is
 * final. `disconnected` and `offline` are not handled here: the reconnect
 * resends those.
 */
export function sendRetryDelay(err: RequestError, failures: number, policy: SendRetryPolicy = SEND_RETRY, random: () => number = Math.random): number | undefined {
  if (failures > policy.maxRetries) return undefined;
  const backoff = () => backoffDelay(failures - 1, policy.backoff, random);
  switch (err.code) {
    case 'rate_limited':
      // The server said when it passes (its own token included): no sooner, and no later than needed.
      return err.retryAfterMs !== undefined ? err.retryAfterMs + Math.round(random() * 50) : backoff();
    case 'unavailable':
      if (err.noRetry) return undefined;
      return Math.max(err.retryAfterMs ?? 0, backoff());
    case 'timeout':
      return backoff();
    case 'internal':
      return failures <= INTERNAL_RETRIES ? backoff() : undefined;
    default:
      return undefined;
  }
}

/** `err` as a RequestError (anything else counts as `internal`). */
export function asRequestError(err: unknown): RequestError {
  return err instanceof RequestError ? err : new RequestError('internal', String(err));
}
