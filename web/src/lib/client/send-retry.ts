import { type RequestError, backoffDelay } from '@chat/client';

/**
 * When a failed send goes out again by itself. A send is idempotent (the
 * server keeps its clientMsgId), so resending after a failure that may pass
 * later is safe: it is retried with backoff, honouring the server's
 * `retryAfterMs`, a bounded number of times; only then, or after a failure
 * resending cannot help, does it show as failed with a Retry button.
 */

/** Automatic resends of one message before its failure is final. */
export const MAX_SEND_RETRIES = 6;
/** Resend n waits about 1 s · 2^(n-1), at most 30 s, jittered (equal jitter, as reconnects). */
const BACKOFF = { baseMs: 1_000, maxMs: 30_000 };

/**
 * The wait (ms) before resending a send that failed with `err` for the
 * `failures`-th time (1 for the first), or undefined when the failure is
 * final: a refusal, an `unavailable` marked `noRetry`, an `internal` a second
 * time, or after MAX_SEND_RETRIES. `rate_limited` waits what its
 * `retryAfterMs` says (its own token included) plus a few ms; `unavailable`
 * and `timeout` back off, never under a `retryAfterMs`. (`disconnected` and
 * `offline` never come here: the reconnect resends those.)
 */
export function sendRetryDelay(err: RequestError, failures: number, random: () => number = Math.random): number | undefined {
  const { code, retryAfterMs = 0 } = err;
  if (failures > MAX_SEND_RETRIES || !(err.retryable || (code === 'internal' && failures < 2))) return undefined;
  return code === 'rate_limited' && retryAfterMs ? retryAfterMs + Math.round(random() * 50) : Math.max(retryAfterMs, backoffDelay(failures - 1, BACKOFF, random));
}
