/**
 * A token bucket: `ratePerSec` tokens refill continuously up to `burst`. One
 * per user per gateway (see UserBudgets), shared by that user's sessions;
 * checked synchronously on every frame, so it costs two numbers and a clock
 * read.
 *
 * The balance may go below zero, for two reasons: an op that costs more than
 * the whole burst is let through once the bucket is full and leaves a debt
 * (otherwise it could never be paid), and a frame sent while its session was
 * told to wait is charged a token as a penalty (see SessionRateLimiter). Both
 * are repaid at the refill rate before anything else passes.
 */
export class TokenBucket {
  #tokens: number;
  #updatedAt: number;

  constructor(
    private readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /**
   * Takes `cost` tokens if at least `need` are there (by default the cost, or
   * the whole burst for a cost above it). Returns 0 on success, else the ms
   * until `need` tokens are available, rounded up so that retrying after it
   * succeeds if nothing else was taken meanwhile.
   */
  take(now: number, cost = 1, need = Math.min(cost, this.burst)): number {
    this.#refill(now);
    if (this.#tokens >= need) {
      this.#tokens -= cost;
      return 0;
    }
    return this.#msUntil(need);
  }

  /** Ms until `count` tokens are available (0 if they are), taking nothing. */
  msUntil(now: number, count: number): number {
    this.#refill(now);
    return this.#tokens >= count ? 0 : this.#msUntil(count);
  }

  /**
   * Takes `count` tokens whatever the balance, but makes no debt deeper than
   * one burst (a debt already deeper, from a costly op, stays as it is).
   */
  penalize(now: number, count: number): void {
    this.#refill(now);
    this.#tokens = Math.min(this.#tokens, Math.max(-this.burst, this.#tokens - count));
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSec) / 1000);
    this.#updatedAt = now;
  }

  #msUntil(count: number): number {
    return Math.ceil(((count - this.#tokens) * 1000) / this.ratePerSec);
  }
}
