import type { TokenBucket } from './token-bucket.js';

/** A rate-limit verdict that closes the session with 4029 (any other verdict is 0, accepted, or the ms to wait). */
export const RATE_ABUSED = -1;

/** When a session that ignores `rate_limited` is closed. */
export interface StrikePolicy {
  /** Strikes that close the session: all at once, or fewer per `windowMs` sustained. */
  strikes: number;
  /** The strike count drains completely over this long, evenly, so old strikes are forgiven. */
  windowMs: number;
}

/**
 * One session's view of its user's token bucket: charges each frame and
 * decides when a session is flooding.
 *
 * Every frame costs a token, refused or not: the bucket counts what the
 * client sends, so sending faster than the rate sinks the bucket into debt
 * and gets everything refused, instead of slipping a frame through whenever
 * a token refills. Each refusal tells the client when a frame can pass
 * (`retryAfterMs`, which includes the refused frame's own token); a refused
 * frame sent before that time is a strike, and enough strikes close the
 * session with 4029.
 *
 * Why not count refused frames: a client that honours the advice is refused
 * about once per accepted frame when it pushes against the limit, far more
 * often than a flood just above the rate, and with refusals free a flood at
 * twice the rate sends exactly when a retrying client would. Charging the
 * refusal makes the advice longer than the flood's spacing, so a flood at
 * any rate above the limit turns into a run of strikes, while a client that
 * waits as told is never struck (it gets half the rate while it pushes, all
 * of it when it paces itself below the limit). Strikes drain over the window,
 * so the few a well-behaved client gets from a frame already in flight when
 * it was refused never add up.
 */
export class SessionRateLimiter {
  #strikes = 0;
  #strikesAt = 0;
  /** When the last refusal said a frame could pass. */
  #retryAt = 0;

  constructor(
    readonly bucket: TokenBucket,
    private readonly policy: StrikePolicy,
  ) {}

  /** The charge every frame pays on arrival, before it is parsed: one token, taken even when the frame is refused. */
  admit(now: number): number {
    if (this.bucket.take(now, 1) === 0) return 0;
    this.bucket.penalize(now, 1);
    return this.#refuse(now, 1);
  }

  /**
   * The rest of a validated op's `cost`, after admit() took its first token.
   * The op needs what a whole cost would (capped at the burst) to have been
   * there on arrival. When refused, the first token stays spent (the frame
   * was parsed and validated) and the wait returned is until the whole cost
   * is there, so a retry after it goes through.
   */
  charge(now: number, cost: number): number {
    if (cost <= 1) return 0;
    const need = Math.min(cost, this.bucket.burst);
    return this.bucket.take(now, cost - 1, need - 1) === 0 ? 0 : this.#refuse(now, need);
  }

  /** Refuses a frame that needed `need` tokens: the ms to wait for them, or RATE_ABUSED. */
  #refuse(now: number, need: number): number {
    if (now < this.#retryAt && this.#strike(now)) return RATE_ABUSED;
    // Strikes are judged by when any frame could pass (one token); a costly op's longer wait is for that op only.
    this.#retryAt = now + this.bucket.msUntil(now, 1);
    return this.bucket.msUntil(now, need);
  }

  /** Counts a strike; true when the session is over the limit. */
  #strike(now: number): boolean {
    const drained = (Math.max(0, now - this.#strikesAt) * this.policy.strikes) / this.policy.windowMs;
    this.#strikes = Math.max(0, this.#strikes - drained) + 1;
    this.#strikesAt = now;
    return this.#strikes >= this.policy.strikes;
  }
}
