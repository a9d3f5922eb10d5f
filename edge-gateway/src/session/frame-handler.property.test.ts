import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ALL_OPS, CloseCode, DEFAULT_LIMITS, ERROR_CODES, type ErrorCode, type ImplementedOp, createOpSchemas } from '@chat/proto';
import { silentLogger } from '@chat/platform';
import { expectedReply, hostileValue, mutatedFrameText, validFrameArb, validOpArgs, wireText } from '@chat/testkit/frame-fuzz';
import { RemoteError } from '../errors.js';
import { GatewayMetrics } from '../metrics.js';
import type { OpHandlers } from '../ops/op-handlers.js';
import { SessionRateLimiter } from '../rate-limit/session-rate-limiter.js';
import { TokenBucket } from '../rate-limit/token-bucket.js';
import { FrameHandler } from './frame-handler.js';
import { Outbox } from './outbox.js';
import type { Session, SessionData } from './session.js';

// Property tests of the frame handler, driven through handle() as uWS calls
// it, with the real outbox, schemas, rate limiter and metrics; only the op
// handlers (the bus behind them) and the socket are stand-ins. A fixed seed
// keeps `npm test` reproducible; fast-check prints seed and counterexample.
const seed = 17;
const MAX = DEFAULT_LIMITS.maxFrameBytes;

type Behaviour = { kind: 'ok' } | { kind: 'remote'; code: ErrorCode; noRetry?: boolean } | { kind: 'reject' } | { kind: 'throw' };
const behaviourArb: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.constant({ kind: 'ok' as const }),
  fc.constantFrom(...ERROR_CODES).map((code) => ({ kind: 'remote' as const, code })),
  fc.constant({ kind: 'reject' as const }),
  fc.constant({ kind: 'throw' as const }),
);

interface Reply {
  re: string | null;
  ok: boolean;
  error?: { code: string; message: string; retryAfterMs?: number; noRetry?: boolean };
}

/** A FrameHandler and one session of it, recording what the socket was sent and how it was closed. */
function harness(options: { behaviour?: Behaviour; rate?: { perSec: number; burst: number; strikes: number } } = {}) {
  const behaviour = options.behaviour ?? { kind: 'ok' };
  const calls: { op: string; args: unknown }[] = [];
  const handler = (op: string) => (_ctx: unknown, args: unknown) => {
    calls.push({ op, args });
    if (behaviour.kind === 'throw') throw new Error('handler threw');
    if (behaviour.kind === 'reject') return Promise.reject(new Error('handler failed'));
    if (behaviour.kind === 'remote') return Promise.reject(new RemoteError(behaviour.code, 'remote failure', undefined, behaviour.noRetry));
    return Promise.resolve({ handled: op });
  };
  const handlers = Object.fromEntries(ALL_OPS.map((op) => [op, handler(op)])) as unknown as OpHandlers;
  const metrics = new GatewayMetrics(new Registry());
  const clock = { now: () => 1_000_000 };
  const rate = options.rate ?? { perSec: 1_000_000, burst: 1_000_000, strikes: 1_000_000 };
  const data = {
    sessionId: 's1',
    user: { id: 'u1', name: 'U', expiresAt: undefined },
    rate: new SessionRateLimiter(new TokenBucket(rate.perSec, rate.burst, clock.now()), { strikes: rate.strikes, windowMs: 60_000 }),
    open: true,
    greeted: true,
    inFlight: 0,
    expiryTimer: undefined,
    outbox: [],
    lanes: new Map(),
  } as unknown as SessionData;
  const sent: Reply[] = [];
  const closes: { code: number; reason: string }[] = [];
  const session = {
    getUserData: () => data,
    cork: (fn: () => void) => fn(),
    send: (frame: string) => {
      sent.push(JSON.parse(frame) as Reply);
      return 1;
    },
    getBufferedAmount: () => 0,
    end: (code: number, reason: string) => closes.push({ code, reason }),
  } as unknown as Session;
  let inFlight = 0;
  const frames = new FrameHandler({
    handlers,
    schemas: createOpSchemas(),
    maxFrameBytes: MAX,
    outbox: new Outbox(1 << 20, metrics),
    clock,
    logger: silentLogger(),
    metrics,
    draining: () => false,
    inFlight: (d) => (inFlight += d),
  });
  return {
    data,
    sent,
    closes,
    calls,
    inFlight: () => inFlight,
    /** Hands `text` (or bytes) to the handler as uWS would; must not throw. */
    handle(message: string | Uint8Array, isBinary = false): void {
      const bytes = typeof message === 'string' ? Buffer.from(message) : message;
      const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      frames.handle(session, ab, isBinary);
    },
    /** Lets every handler promise settle and the outbox flush (it writes in the check phase: a second turn is past it). */
    settle: async () => {
      for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

/** The text of a frame: mutations of valid frames of every op, arbitrary JSON and arbitrary strings. */
const frameTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: validFrameArb().chain(({ frame }) => mutatedFrameText(frame)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.tuple(fc.oneof(fc.string(), fc.integer(), hostileValue()), hostileValue()).map(([id, v]) => JSON.stringify({ id, op: 'ping', v }) ?? '') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
).map(wireText);

function checkReplyShape(reply: Reply): void {
  expect(reply.re === null || typeof reply.re === 'string').toBe(true);
  if (reply.ok) return;
  expect(ERROR_CODES).toContain(reply.error?.code);
  expect(typeof reply.error?.message).toBe('string');
}

describe('FrameHandler (property-based)', () => {
  it('answers every frame as the protocol says: exactly one reply to a valid id, one with re: null to an invalid one, none without', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameTextArb, { minLength: 1, maxLength: 8 }), behaviourArb, async (texts, behaviour) => {
        const h = harness({ behaviour });
        for (const text of texts) h.handle(text);
        await h.settle();
        expect(h.closes).toEqual([]);
        const expected = texts.map(expectedReply);
        const wantById = new Map<string, number>();
        for (const e of expected) if (e.kind === 'id') wantById.set(e.id, (wantById.get(e.id) ?? 0) + 1);
        const gotById = new Map<string, number>();
        for (const r of h.sent) if (r.re !== null) gotById.set(r.re, (gotById.get(r.re) ?? 0) + 1);
        expect(gotById).toEqual(wantById);
        const nulls = h.sent.filter((r) => r.re === null);
        expect(nulls).toHaveLength(expected.filter((e) => e.kind === 'null').length);
        for (const r of nulls) expect(r).toMatchObject({ ok: false, error: { code: 'bad_request' } });
        for (const r of h.sent) checkReplyShape(r);
        // An ok reply only for a request its handler ran; a handler never runs twice for one frame.
        expect(h.sent.filter((r) => r.ok).length).toBeLessThanOrEqual(h.calls.length);
        expect(h.calls.length).toBeLessThanOrEqual(texts.length);
        expect(h.inFlight()).toBe(0);
        expect(h.data.open).toBe(true);
      }),
      { seed, numRuns: 200 },
    );
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('runs a valid request of any op exactly once and answers its handler outcome with a stable code', async () => {
    await fc.assert(
      fc.asyncProperty(validFrameArb(), behaviourArb, async ({ op, frame }, behaviour) => {
        const h = harness({ behaviour });
        h.handle(JSON.stringify(frame));
        await h.settle();
        expect(h.calls).toHaveLength(1);
        expect(h.calls[0]!.op).toBe(op);
        expect(h.sent).toHaveLength(1);
        const reply = h.sent[0]!;
        expect(reply.re).toBe(frame.id);
        if (behaviour.kind === 'ok') expect(reply).toMatchObject({ ok: true, handled: op });
        else expect(reply).toMatchObject({ ok: false, error: { code: behaviour.kind === 'remote' ? behaviour.code : 'internal' } });
      }),
      { seed, numRuns: 100 },
    );
  });

  it('agrees with itself on which ids are valid: an id of emoji (two UTF-16 units each) is answered to itself up to 64 units, with re: null past them, whatever the op', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 64 }), fc.constantFrom('ping', 'no.such.op', 42), async (n, op) => {
        const h = harness();
        const id = '😀'.repeat(n);
        h.handle(JSON.stringify({ id, op }));
        await h.settle();
        expect(h.sent).toHaveLength(1);
        expect(h.sent[0]!.re).toBe(2 * n <= 64 ? id : null);
      }),
      { seed, numRuns: 60 },
    );
  });

  it('never throws on arbitrary bytes; invalid UTF-8 or non-JSON is never answered and the session stays open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const h = harness();
        h.handle(bytes);
        await h.settle();
        expect(h.closes).toEqual([]);
        const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
        const valid = Buffer.from(text).equals(Buffer.from(bytes));
        const want = valid ? expectedReply(text) : { kind: 'none' };
        expect(h.sent).toHaveLength(want.kind === 'none' ? 0 : 1);
      }),
      { seed, numRuns: 200 },
    );
  });

  it('closes with 1003 for any binary frame and with 1009 for any text frame over the limit, answering neither', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(validFrameArb().map(({ frame }) => JSON.stringify(frame)), fc.string()), fc.integer({ min: 1, max: 1000 }), async (text, extra) => {
        const binary = harness();
        binary.handle(text, true);
        const big = harness();
        big.handle(JSON.stringify({ id: 'big', op: 'ping', pad: 'x'.repeat(MAX) }).slice(0, MAX + extra));
        await Promise.all([binary.settle(), big.settle()]);
        expect(binary.closes.map((c) => c.code)).toEqual([CloseCode.UNSUPPORTED_DATA]);
        expect(big.closes.map((c) => c.code)).toEqual([CloseCode.TOO_LARGE]);
        expect([...binary.sent, ...big.sent, ...binary.calls, ...big.calls]).toEqual([]);
        // Closed means closed: later frames are ignored.
        binary.handle(JSON.stringify({ id: 'after', op: 'ping' }));
        await binary.settle();
        expect(binary.sent).toEqual([]);
      }),
      { seed, numRuns: 50 },
    );
  });

  it('under a tight rate limit still answers every valid-id frame once (ok or rate_limited) until the flood closes the session with 4029', async () => {
    const ops = ALL_OPS as readonly ImplementedOp[];
    const args = validOpArgs();
    const requestArb = fc.constantFrom(...ops).chain((op) => args[op].map((a) => ({ ...a, op })));
    await fc.assert(
      fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 20 }), async (requests, burst, strikes) => {
        const h = harness({ rate: { perSec: 1, burst, strikes } });
        let closedAt = -1;
        for (const [i, r] of requests.entries()) {
          h.handle(JSON.stringify({ ...r, id: `r${i}` }));
          if (closedAt < 0 && !h.data.open) closedAt = i;
          // Replies go out as uWS would write them between reads (the outbox flushes at the end of the loop turn).
          await h.settle();
        }
        const answered = new Set<string>();
        for (const reply of h.sent) {
          expect(answered.has(reply.re!)).toBe(false);
          answered.add(reply.re!);
          if (!reply.ok) expect(['rate_limited', 'bad_request']).toContain(reply.error!.code);
          if (reply.error?.code === 'rate_limited') expect(reply.error.retryAfterMs).toBeGreaterThan(0);
        }
        const last = closedAt < 0 ? requests.length : closedAt;
        for (let i = 0; i < requests.length; i++) expect(answered.has(`r${i}`), `r${i} of ${requests.length}, closed at ${closedAt}`).toBe(i < last);
        if (closedAt >= 0) expect(h.closes.map((c) => c.code)).toEqual([CloseCode.RATE_LIMIT_ABUSED]);
      }),
      { seed, numRuns: 60 },
    );
  });

  it("passes a backend's noRetry on to the client, and says nothing of it otherwise", async () => {
    for (const noRetry of [true, false]) {
      const h = harness({ behaviour: { kind: 'remote', code: 'unavailable', noRetry } });
      h.handle(JSON.stringify({ id: 'r1', op: 'ping' }));
      h.handle(JSON.stringify({ id: 'r2', op: 'presence.get', userIds: ['u2'] }));
      await h.settle();
      const failed = h.sent.find((r) => r.re === 'r2');
      expect(failed?.error).toEqual(noRetry ? { code: 'unavailable', message: 'remote failure', noRetry: true } : { code: 'unavailable', message: 'remote failure' });
    }
  });
});
