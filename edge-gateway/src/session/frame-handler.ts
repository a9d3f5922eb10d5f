import {
  ALL_OPS,
  CloseCode,
  type ErrorCode,
  type ImplementedOp,
  type OpSchemas,
  describeZodError,
  envelopeSchema,
  errorFrame,
  okFrame,
  requestIdSchema,
} from '@chat/proto';
import { type Clock, type Logger, type Span, SpanKind, contextOf, endSpan, startRootSpan, tracingEnabled } from '@chat/platform';
import { DrainingError, GatewayError, RateLimitedError, RemoteError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { OpHandlers } from '../ops/op-handlers.js';
import { RATE_ABUSED } from '../rate-limit/session-rate-limiter.js';
import { opCost } from '../rate-limit/op-cost.js';
import type { Outbox } from './outbox.js';
import type { Session } from './session.js';

export interface FrameHandlerOptions {
  handlers: OpHandlers;
  schemas: OpSchemas;
  maxFrameBytes: number;
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Whether the gateway is shutting down (new requests are refused). */
  draining(): boolean;
  /** Called when a request starts and when its reply is written, for a clean drain. */
  inFlight(delta: 1 | -1): void;
}

const KNOWN_OPS = new Set<string>(ALL_OPS);

/**
 * Turns one client frame into one reply: size limit, rate limit, JSON and
 * zod validation, the rest of the op's cost, then the op's handler. A bad
 * frame gets an error reply (when it carried an id) and the socket stays
 * open; only an oversized frame (1009) or a flood that ignores
 * `rate_limited` (4029) closes it.
 *
 * Every frame pays one token on arrival; an op whose work grows with its
 * arguments (opCost) pays the rest once they are validated, since only then
 * is its size known.
 */
export class FrameHandler {
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly o: FrameHandlerOptions) {}

  handle(session: Session, message: ArrayBuffer, isBinary = false): void {
    const data = session.getUserData();
    if (!data.open) return;
    if (isBinary) {
      data.open = false;
      this.o.metrics.closes.inc({ reason: 'binary' });
      session.end(CloseCode.UNSUPPORTED_DATA, 'binary frames are not part of the protocol: send JSON text frames');
      return;
    }
    if (message.byteLength > this.o.maxFrameBytes) {
      data.open = false;
      this.o.metrics.closes.inc({ reason: 'too_large' });
      session.end(CloseCode.TOO_LARGE, `frame over ${this.o.maxFrameBytes} bytes`);
      return;
    }
    const receivedAt = performance.timeOrigin + performance.now();
    const now = this.o.clock.now();
    const waitMs = data.rate.admit(now);

    let text: string;
    let frame: unknown;
    try {
      text = this.#decoder.decode(message);
      frame = JSON.parse(text);
    } catch {
      this.#refused(session, waitMs);
      return; // Not JSON: there is no id to reply to.
    }
    const envelope = envelopeSchema.safeParse(frame);
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || !envelope.success) {
      const id = idOf(frame);
      // An object with an `id` that is not a valid one still gets its answer, addressed to no request (`re: null`).
      const hasId = typeof frame === 'object' && frame !== null && !Array.isArray(frame) && 'id' in frame;
      if (!this.#refused(session, waitMs) && (id || hasId)) this.#reply(session, errorFrame(id ?? null, 'bad_request', 'a frame must be a JSON object with a string "id" (1-64 characters) and "op"'));
      return;
    }
    const { id, op } = envelope.data;
    if (this.#refused(session, waitMs, id)) return;
    if (id === undefined) {
      // Only `typing` may go without an id: it runs, and nothing is ever replied (not even an error).
      if (op === 'typing') this.#runUnanswered(session, op, frame, receivedAt);
      return;
    }
    if (!KNOWN_OPS.has(op)) {
      this.#fail(session, id, op, 'bad_request', `unknown op ${JSON.stringify(op)}`);
      return;
    }
    const schema = this.o.schemas[op as ImplementedOp];
    if (!schema) {
      this.#fail(session, id, op, 'bad_request', `op ${JSON.stringify(op)} is not available yet`);
      return;
    }
    const parsed = schema.safeParse(frame);
    if (!parsed.success) {
      this.#fail(session, id, op, 'bad_request', `invalid ${op}: ${describeZodError(parsed.error)}`);
      return;
    }
    const cost = opCost(op as ImplementedOp, parsed.data);
    if (cost > 1 && this.#refused(session, data.rate.charge(now, cost), id, { op, cost })) return;
    if (this.o.draining()) {
      const err = new DrainingError();
      this.#fail(session, id, op, err.code, err.message);
      return;
    }
    const handler = this.o.handlers[op as ImplementedOp] as (ctx: object, args: unknown) => Promise<object>;
    data.inFlight++;
    this.o.inFlight(1);
    // The op's span starts at the frame's receipt; the trace's root unless a client sends one some day.
    const span: Span | undefined = tracingEnabled() ? startRootSpan(`chat ${op}`, { kind: SpanKind.SERVER, startTime: receivedAt, attributes: { 'chat.op': op, 'chat.transport': 'websocket' } }) : undefined;
    let pending: Promise<object>;
    try {
      pending = handler({ user: data.user, sessionId: data.sessionId, lanes: data.lanes, receivedAt, trace: span && contextOf(span) }, parsed.data);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending
      .then(
        (result) => {
          this.o.metrics.requests.inc({ op, outcome: 'ok' });
          this.#reply(session, okFrame(id, result));
          if (span) endSpan(span);
        },
        (err: unknown) => {
          this.#failWith(session, id, op, err);
          if (span) endSpan(span, err);
        },
      )
      .finally(() => {
        data.inFlight--;
        this.o.inFlight(-1);
        this.o.metrics.requestDuration.observe({ op }, (performance.timeOrigin + performance.now() - receivedAt) / 1000);
      });
  }

  /** An id-less request (`typing` only): validated and run like any other, its outcome counted but never sent. */
  #runUnanswered(session: Session, op: 'typing', frame: unknown, receivedAt: number): void {
    const parsed = this.o.schemas[op].safeParse(frame);
    if (!parsed.success || this.o.draining()) {
      this.o.metrics.requests.inc({ op, outcome: parsed.success ? 'unavailable' : 'bad_request' });
      return;
    }
    const data = session.getUserData();
    this.o.inFlight(1);
    // A handler that throws instead of rejecting is counted like one that rejects, as for answered ops.
    let pending: Promise<unknown>;
    try {
      pending = this.o.handlers[op]({ user: data.user, sessionId: data.sessionId, lanes: data.lanes, receivedAt }, parsed.data);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending
      .then(
        () => this.o.metrics.requests.inc({ op, outcome: 'ok' }),
        (err: unknown) => this.o.metrics.requests.inc({ op, outcome: err instanceof GatewayError ? err.code : 'internal' }),
      )
      .finally(() => this.o.inFlight(-1));
  }

  /**
   * Applies a rate-limit verdict (SessionRateLimiter). Returns true when the
   * frame was refused (replied `rate_limited` if it had an id, or the session
   * closed with 4029).
   */
  #refused(session: Session, waitMs: number, id?: string, costly?: { op: string; cost: number }): boolean {
    if (waitMs === 0) return false;
    if (waitMs === RATE_ABUSED) {
      session.getUserData().open = false;
      this.o.metrics.closes.inc({ reason: 'rate_limit' });
      session.end(CloseCode.RATE_LIMIT_ABUSED, 'rate limit abused');
      return true;
    }
    if (id) {
      const err = new RateLimitedError(waitMs, costly);
      this.o.metrics.requests.inc({ op: costly?.op ?? 'any', outcome: err.code });
      this.#reply(session, errorFrame(id, err.code, err.message, waitMs));
    }
    return true;
  }

  #failWith(session: Session, id: string, op: string, err: unknown): void {
    if (err instanceof GatewayError) {
      // A backend's noRetry reaches the client too: it tells it not to resend by itself.
      this.#fail(session, id, op, err.code, err.message, err instanceof RemoteError ? err.retryAfterMs : undefined, err instanceof RemoteError && err.noRetry);
      return;
    }
    this.o.logger.error({ err, op }, 'request failed');
    this.#fail(session, id, op, 'internal', 'internal error');
  }

  #fail(session: Session, id: string, op: string, code: ErrorCode, message: string, retryAfterMs?: number, noRetry?: boolean): void {
    this.o.metrics.requests.inc({ op: KNOWN_OPS.has(op) ? op : 'unknown', outcome: code });
    this.#reply(session, errorFrame(id, code, message, retryAfterMs, noRetry));
  }

  #reply(session: Session, frame: string): void {
    this.o.outbox.send(session, frame);
  }
}

/** The request id of a frame that failed validation, if it has a usable one (by the envelope's own rule, so both agree). */
function idOf(frame: unknown): string | undefined {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return undefined;
  const id = (frame as { id?: unknown }).id;
  return requestIdSchema.safeParse(id).success ? (id as string) : undefined;
}
