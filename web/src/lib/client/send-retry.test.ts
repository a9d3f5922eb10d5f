import { describe, expect, it } from 'vitest';
import { RequestError, toRequestError } from '@chat/client';
import { MAX_SEND_RETRIES, sendRetryDelay } from './send-retry.js';

const half = () => 0.5;
const err = (code: ConstructorParameters<typeof RequestError>[0], retryAfterMs?: number, noRetry = false) => new RequestError(code, code, retryAfterMs, noRetry);

describe('sendRetryDelay', () => {
  it('waits what rate_limited says, with a few ms of jitter', () => {
    expect(sendRetryDelay(err('rate_limited', 1200), 1, half)).toBe(1225);
    expect(sendRetryDelay(err('rate_limited', 1200), 3, () => 0)).toBe(1200);
  });

  it('backs off exponentially for unavailable and timeout, never under a retryAfterMs', () => {
    const first = sendRetryDelay(err('unavailable'), 1, half)!;
    const third = sendRetryDelay(err('timeout'), 3, half)!;
    expect(first).toBe(750);
    expect(third).toBe(3000);
    expect(sendRetryDelay(err('unavailable', 5000), 1, half)).toBe(5000);
    // Capped at 30 s.
    expect(sendRetryDelay(err('timeout'), 6, () => 1)).toBe(30_000);
  });

  it('is final after maxRetries, for a noRetry unavailable, for internal after one retry, and for refusals', () => {
    expect(sendRetryDelay(err('unavailable'), MAX_SEND_RETRIES + 1)).toBeUndefined();
    expect(sendRetryDelay(err('rate_limited', 100), MAX_SEND_RETRIES + 1)).toBeUndefined();
    expect(sendRetryDelay(err('unavailable', undefined, true), 1)).toBeUndefined();
    expect(sendRetryDelay(err('internal'), 1)).toBeGreaterThan(0);
    expect(sendRetryDelay(err('internal'), 2)).toBeUndefined();
    for (const code of ['forbidden', 'bad_request', 'not_found', 'conflict'] as const) expect(sendRetryDelay(err(code), 1)).toBeUndefined();
  });

  it('reads noRetry from a reply frame', () => {
    const final = toRequestError({ re: 'r1', ok: false, error: { code: 'unavailable', message: 'disk full', noRetry: true } });
    expect(final.noRetry).toBe(true);
    expect(final.retryable).toBe(false);
    expect(sendRetryDelay(final, 1)).toBeUndefined();
    const passing = toRequestError({ re: 'r2', ok: false, error: { code: 'unavailable', message: 'no owner' } });
    expect(passing.retryable).toBe(true);
    expect(sendRetryDelay(passing, 1)).toBeGreaterThan(0);
  });
});
