import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserBudgets } from './user-budgets.js';

describe('UserBudgets', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const budgets = (maxConnections = 3) => new UserBudgets({ perSec: 50, burst: 200, maxConnections, clock: { now: () => Date.now() } });

  it("shares one bucket among a user's sockets, and keeps users apart", () => {
    const b = budgets();
    const a1 = b.reserve('ann')!;
    const a2 = b.reserve('ann')!;
    const bob = b.reserve('bob')!;
    expect(a1.bucket).toBe(a2.bucket);
    expect(bob.bucket).not.toBe(a1.bucket);
    expect(a1.bucket.take(Date.now(), 200)).toBe(0);
    expect(a2.bucket.take(Date.now())).toBeGreaterThan(0);
    expect(bob.bucket.take(Date.now())).toBe(0);
  });

  it('refuses a socket over the cap until one is released, and counts a double release once', () => {
    const b = budgets(2);
    const first = b.reserve('ann')!;
    expect(b.reserve('ann')).toBeDefined();
    expect(b.reserve('ann')).toBeUndefined();
    expect(b.reserve('bob')).toBeDefined();
    first.release();
    first.release();
    expect(b.sockets('ann')).toBe(1);
    expect(b.reserve('ann')).toBeDefined();
    expect(b.reserve('ann')).toBeUndefined();
  });

  it('keeps a drained budget after the last socket closes, so reconnecting gives no fresh burst, and drops it once refilled', () => {
    const b = budgets();
    const slot = b.reserve('ann')!;
    expect(slot.bucket.take(Date.now(), 200)).toBe(0);
    slot.release();
    expect(b.size).toBe(1);
    // Reconnecting a second later finds the same bucket, 50 tokens refilled.
    vi.advanceTimersByTime(1000);
    const again = b.reserve('ann')!;
    expect(again.bucket).toBe(slot.bucket);
    expect(again.bucket.take(Date.now(), 51)).toBeGreaterThan(0);
    again.release();
    // 150 tokens short of full: kept 3 s more, then dropped.
    vi.advanceTimersByTime(2999);
    expect(b.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(b.size).toBe(0);
    expect(b.reserve('ann')!.bucket).not.toBe(slot.bucket);
  });

  it('drops a full budget as soon as its last socket closes', () => {
    const b = budgets();
    const one = b.reserve('ann')!;
    const two = b.reserve('ann')!;
    one.release();
    expect(b.size).toBe(1);
    two.release();
    expect(b.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('charges calls without a socket (gRPC) to the same bucket, outside the socket cap, and keeps a drained one until it refills', () => {
    const b = budgets(1);
    const slot = b.reserve('ann')!;
    expect(b.take('ann', 150)).toBe(0);
    // The socket's bucket paid for it: 50 tokens are left for both.
    expect(slot.bucket.take(Date.now(), 50)).toBe(0);
    expect(b.take('ann', 1)).toBeGreaterThan(0);
    expect(b.sockets('ann')).toBe(1);
    // A caller with no socket at all: refused while drained, also after a pause too short to refill...
    expect(b.take('cal', 200)).toBe(0);
    const wait = b.take('cal', 10);
    expect(wait).toBe(200);
    vi.advanceTimersByTime(100);
    expect(b.take('cal', 10)).toBeGreaterThan(0);
    expect(b.size).toBe(2);
    // ...and forgotten once the bucket is full again (nothing is held for callers who left).
    vi.advanceTimersByTime(10_000);
    expect(b.size).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
