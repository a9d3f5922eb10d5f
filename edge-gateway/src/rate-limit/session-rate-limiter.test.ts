import { describe, expect, it } from 'vitest';
import { RATE_ABUSED, SessionRateLimiter } from './session-rate-limiter.js';
import { TokenBucket } from './token-bucket.js';

// The gateway defaults: 50 tokens/s, a burst of 200, 400 strikes drained over a minute.
const RATE = 50;
const BURST = 200;
const POLICY = { strikes: 400, windowMs: 60_000 };

function limiter(policy = POLICY): SessionRateLimiter {
  return new SessionRateLimiter(new TokenBucket(RATE, BURST, 0), policy);
}

/** A client sending one frame every `intervalMs` whatever it is told; when it is closed, and how many frames got through. */
function flood(l: SessionRateLimiter, intervalMs: number, untilMs: number): { closedAt: number | undefined; accepted: number } {
  let accepted = 0;
  for (let t = 0; t < untilMs; t += intervalMs) {
    const verdict = l.admit(Math.floor(t));
    if (verdict === RATE_ABUSED) return { closedAt: t, accepted };
    if (verdict === 0) accepted++;
  }
  return { closedAt: undefined, accepted };
}

/**
 * A client keeping `inFlight` frames on the wire, always as many as it may:
 * after a refusal it sends nothing until the latest retryAfterMs it was given
 * has passed, then fills its pipeline again. Zero round-trip time, which is
 * the harshest case: the whole pipeline arrives in the same millisecond.
 */
function honouring(l: SessionRateLimiter, inFlight: number, untilMs: number) {
  let t = 0;
  let accepted = 0;
  let refused = 0;
  while (t < untilMs) {
    let waitMs = 0;
    for (let i = 0; i < inFlight; i++) {
      const verdict = l.admit(t);
      if (verdict === RATE_ABUSED) return { closedAt: t, accepted, refused };
      if (verdict === 0) accepted++;
      else {
        refused++;
        waitMs = verdict;
      }
    }
    t += waitMs;
  }
  return { closedAt: undefined, accepted, refused };
}

describe('SessionRateLimiter', () => {
  it('accepts a burst, then says how long to wait, counting the token the refused frame cost', () => {
    const l = limiter();
    for (let i = 0; i < BURST; i++) expect(l.admit(0)).toBe(0);
    expect(l.admit(0)).toBe(40);
    expect(l.admit(40)).toBe(0);
    expect(l.admit(60)).toBe(0);
  });

  it('never closes a client that waits retryAfterMs after each refusal, though it is refused about once per accepted frame', () => {
    for (const inFlight of [1, 2]) {
      const r = honouring(limiter(), inFlight, 10 * 60_000);
      expect(r.closedAt).toBeUndefined();
      // Refused all the time: the case the limiter must not punish.
      expect(r.refused).toBeGreaterThan(10_000);
      // Its refused frames cost a token each, so pushing against the limit gets it half the rate.
      expect(r.accepted).toBeGreaterThanOrEqual(((RATE / 2) * 10 * 60_000) / 1000);
    }
  });

  it('never refuses a client that paces itself at the rate', () => {
    const r = flood(limiter(), 1000 / RATE, 10 * 60_000);
    expect(r.closedAt).toBeUndefined();
    expect(r.accepted).toBe(RATE * 10 * 60);
  });

  it('closes a flood just above the rate although many of its frames get through', () => {
    // 55 frames/s against 50/s: nine in ten pass at first, and the old "refused in a row" rule never fired.
    const r = flood(limiter(), 1000 / 55, 10 * 60_000);
    expect(r.closedAt).toBeDefined();
    expect(r.closedAt!).toBeLessThan(120_000);
    expect(r.accepted).toBeGreaterThan(BURST);
  });

  it('closes a flood at any multiple of the rate, the harder one sooner', () => {
    const slight = flood(limiter(), 1000 / 75, 10 * 60_000);
    const hard = flood(limiter(), 1000 / 5000, 10 * 60_000);
    expect(slight.closedAt).toBeDefined();
    expect(hard.closedAt).toBeDefined();
    expect(hard.closedAt!).toBeLessThan(slight.closedAt!);
    expect(hard.closedAt!).toBeLessThan(1000);
  });

  it('forgives a one-off overshoot: frames already in flight when refused count, but drain over the window', () => {
    const l = limiter({ strikes: 400, windowMs: 60_000 });
    // 300 frames at once: 200 pass, one is refused, 99 are strikes.
    const verdicts = Array.from({ length: BURST + 100 }, () => l.admit(0));
    expect(verdicts.filter((v) => v === 0)).toHaveLength(BURST);
    expect(verdicts).not.toContain(RATE_ABUSED);
    // Each refused frame cost a token: the last one waits for the 100 owed and one more.
    expect(verdicts.at(-1)).toBe((101 * 1000) / RATE);
    // Three more such overshoots, each after waiting as told, a window apart: still open.
    for (let round = 1; round <= 3; round++) {
      const t = round * 60_000;
      const again = Array.from({ length: BURST + 100 }, () => l.admit(t));
      expect(again).not.toContain(RATE_ABUSED);
    }
  });

  it('closes at exactly RATE_LIMIT_STRIKES strikes in a row', () => {
    const l = limiter({ strikes: 10, windowMs: 60_000 });
    for (let i = 0; i < BURST; i++) l.admit(0);
    // The first refusal is no strike (nothing said to wait yet); the next nine are, and the tenth closes.
    const verdicts = Array.from({ length: 11 }, () => l.admit(0));
    expect(verdicts.slice(0, 10).every((v) => v > 0)).toBe(true);
    expect(verdicts[10]).toBe(RATE_ABUSED);
  });

  it('charges the rest of a costly op once it is validated, and refuses it until the whole cost is there', () => {
    const l = limiter();
    for (let i = 0; i < 150; i++) l.admit(0);
    // 50 tokens left: a 51-token op pays 1 on arrival, then is refused; the first token stays spent.
    expect(l.admit(0)).toBe(0);
    const wait = l.charge(0, 51);
    expect(wait).toBe(40);
    // Retrying after the wait goes through, and was no strike.
    expect(l.admit(wait)).toBe(0);
    expect(l.charge(wait, 51)).toBe(0);
    expect(l.admit(wait)).toBeGreaterThan(0);
  });

  it('lets an op costing more than the burst through once the bucket was full on arrival, leaving a debt', () => {
    const l = limiter();
    expect(l.admit(0)).toBe(0);
    // 199 tokens on arrival: refused until the bucket is full again.
    expect(l.admit(0)).toBe(0);
    expect(l.charge(0, 1000)).toBe(40);
    expect(l.admit(40)).toBe(0);
    expect(l.charge(40, 1000)).toBe(0);
    // 800 tokens owed at 50/s: 16 s before the next token, 20 ms more for it.
    expect(l.bucket.msUntil(40, 1)).toBe(16_020);
  });

  it('charges nothing more for an op of cost 1', () => {
    const l = limiter();
    expect(l.admit(0)).toBe(0);
    expect(l.charge(0, 1)).toBe(0);
    expect(l.bucket.msUntil(0, BURST - 1)).toBe(0);
    expect(l.bucket.msUntil(0, BURST)).toBeGreaterThan(0);
  });
});
