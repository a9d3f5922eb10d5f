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
});
