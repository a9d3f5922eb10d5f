import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

/** Takes tokens at one instant until refused; returns how many were granted. */
function drain(bucket: TokenBucket, now: number, max = 10_000): number {
  let granted = 0;
  while (granted < max && bucket.take(now) === 0) granted++;
  return granted;
}

describe('TokenBucket', () => {
  it('starts full: allows a burst of exactly `burst` at one instant', () => {
    const bucket = new TokenBucket(50, 200, 1_000);
    expect(drain(bucket, 1_000)).toBe(200);
    expect(bucket.take(1_000)).toBeGreaterThan(0);
  });

  it('refills at `ratePerSec`', () => {
    const bucket = new TokenBucket(50, 200, 0);
    drain(bucket, 0);
    // 100 ms at 50/s is 5 tokens.
    expect(drain(bucket, 100)).toBe(5);
    // One more second is 50 more.
    expect(drain(bucket, 1_100)).toBe(50);
  });

  it('accumulates fractional refills across calls', () => {
    const bucket = new TokenBucket(50, 200, 0);
    drain(bucket, 0);
    // 10 ms is half a token: refused; 20 ms in all is one.
    expect(bucket.take(10)).toBeGreaterThan(0);
    expect(bucket.take(20)).toBe(0);
    expect(bucket.take(20)).toBeGreaterThan(0);
  });

  it('says how long until the next token', () => {
    const bucket = new TokenBucket(50, 200, 0);
    drain(bucket, 0);
    expect(bucket.take(0)).toBe(20);
    expect(bucket.take(5)).toBe(15);
    expect(bucket.take(10)).toBe(10);
    expect(bucket.take(20)).toBe(0);
    // Rounds up, so retrying after the answer always succeeds.
    const slow = new TokenBucket(3, 1, 0);
    expect(slow.take(0)).toBe(0);
    const wait = slow.take(0);
    expect(wait).toBe(334);
    expect(slow.take(wait)).toBe(0);
  });

  it('never holds more than `burst`, however long it idles', () => {
    const bucket = new TokenBucket(50, 200, 0);
    drain(bucket, 0);
    expect(drain(bucket, 3_600_000)).toBe(200);
    const fresh = new TokenBucket(1000, 3, 0);
    expect(drain(fresh, 1_000_000)).toBe(3);
  });

  it('does not mint tokens when the clock goes backwards', () => {
    const bucket = new TokenBucket(50, 10, 1_000);
    drain(bucket, 1_000);
    expect(drain(bucket, 0)).toBe(0);
    expect(drain(bucket, 20)).toBe(1);
  });

  it('charges a cost of several tokens at once, and says how long until the whole cost is there', () => {
    const bucket = new TokenBucket(50, 200, 0);
    expect(bucket.take(0, 150)).toBe(0);
    // 50 left: a cost of 60 waits for 10 more (200 ms at 50/s) and takes nothing meanwhile.
    expect(bucket.take(0, 60)).toBe(200);
    expect(bucket.take(199, 60)).toBeGreaterThan(0);
    expect(bucket.take(200, 60)).toBe(0);
    expect(bucket.take(200)).toBeGreaterThan(0);
  });

  it('lets a cost above the burst through from a full bucket, and the debt is repaid before anything else passes', () => {
    const bucket = new TokenBucket(50, 200, 0);
    expect(bucket.take(0)).toBe(0);
    // 199 tokens: not full, so a cost of 1000 must wait for the one missing token.
    expect(bucket.take(0, 1000)).toBe(20);
    expect(bucket.take(20, 1000)).toBe(0);
    // 800 tokens of debt at 50/s: the next single token is 16.02 s away.
    expect(bucket.take(20)).toBe(16_020);
    expect(bucket.take(16_039)).toBeGreaterThan(0);
    expect(bucket.take(16_040)).toBe(0);
  });

  it('takes a remainder when at least `need` tokens are there', () => {
    const bucket = new TokenBucket(50, 10, 0);
    expect(bucket.take(0)).toBe(0);
    // 9 left: 20 more of a 21-token op go through when 9 (the burst less the token already paid) are there.
    expect(bucket.take(0, 20, 9)).toBe(0);
    expect(bucket.msUntil(0, 1)).toBe(240);
  });

  it('penalizes into debt but never deeper than one burst', () => {
    const bucket = new TokenBucket(50, 10, 0);
    bucket.penalize(0, 4);
    expect(bucket.msUntil(0, 10)).toBe(80);
    bucket.penalize(0, 1000);
    // -10 tokens: 11 to wait for before one is there again.
    expect(bucket.msUntil(0, 1)).toBe(220);
    expect(bucket.msUntil(220, 1)).toBe(0);
    // A deeper debt left by a costly op is not forgiven by a penalty.
    const owing = new TokenBucket(50, 10, 0);
    expect(owing.take(0, 100)).toBe(0);
    owing.penalize(0, 1);
    expect(owing.msUntil(0, 1)).toBe(1_820);
  });
});
