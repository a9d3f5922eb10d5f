import { ActorReply, ActorRequest, ID_PATTERN, TYPING_ENDED_QUEUE, TYPING_ENDED_SUBJECT, TypingEnded, shardOf, shardSubject } from '@chat/proto';
import type { Bus, BusMessage, Logger, Subscription } from '@chat/platform';

/** Per request to the conversation's actor; typing is ephemeral, so a slow answer is simply given up on. */
export const DEFAULT_TYPING_END_TIMEOUT_MS = 2000;

/** Requests in flight; past it new ends are dropped (the other members' clients forget typing on their own). */
export const DEFAULT_MAX_TYPING_ENDS_IN_FLIGHT = 1000;

/** Repeated warnings are logged at most once per this interval. */
const LOG_INTERVAL_MS = 10_000;

export interface TypingEnderOptions {
  bus: Bus;
  /** The cluster's SHARDS: where each conversation's actor is. */
  shardCount: number;
  logger: Logger;
  timeoutMs?: number;
  maxInFlight?: number;
}

/**
 * Turns the presence service's TypingEnded announcements (a typist went quiet
 * for the typing expiry, or its session went down, possibly with its gateway)
 * into the `typing` event with `active: false` for the conversation's other
 * members: a `typing` request with `active: false` on the typist's behalf to
 * the conversation's actor, on its shard subject, exactly as the typist's own
 * would be, so the actor's membership check and relay apply unchanged.
 *
 * Guarantees:
 * - Hosts share the work in the TYPING_ENDED_QUEUE queue group: each
 *   announcement is sent to the actor by one host, once; nothing is retried
 *   (typing is ephemeral: a lost stop only leaves a client's indicator to its
 *   own timeout).
 * - A `forbidden` answer (the typist was removed from the conversation
 *   meanwhile) is expected and ignored; other failures are logged, throttled.
 */
export class TypingEnder {
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  #sub: Subscription | undefined;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  readonly #lastLog = new Map<string, number>();

  constructor(private readonly o: TypingEnderOptions) {
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TYPING_END_TIMEOUT_MS;
    this.#maxInFlight = o.maxInFlight ?? DEFAULT_MAX_TYPING_ENDS_IN_FLIGHT;
    if (!Number.isInteger(o.shardCount) || o.shardCount < 1) throw new RangeError(`shardCount must be a positive integer, got ${o.shardCount}`);
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1) throw new RangeError(`maxInFlight must be a positive integer, got ${this.#maxInFlight}`);
  }

  /** Subscribes (queue group). Idempotent. */
  start(): void {
    this.#sub ??= this.o.bus.subscribe(TYPING_ENDED_SUBJECT, (msg) => this.#onEnded(msg), { queue: TYPING_ENDED_QUEUE });
  }

  /** Stops taking announcements; resolves once the requests in flight are answered or timed out. */
  async stop(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #onEnded(msg: BusMessage): void {
    let ended: TypingEnded;
    try {
      ended = TypingEnded.decode(msg.data);
    } catch (err) {
      this.#log('invalid', { err }, 'undecodable typing end');
      return;
    }
    const { conversationId, userId } = ended;
    if (!ID_PATTERN.test(conversationId) || !ID_PATTERN.test(userId)) {
      this.#log('invalid', { conversationId, userId }, 'typing end with an invalid id');
      return;
    }
    if (this.#inFlight >= this.#maxInFlight) {
      this.#log('dropped', { inFlight: this.#inFlight }, 'typing ender behind: dropping typing ends');
      return;
    }
    this.#inFlight++;
    void this.#send(conversationId, userId).finally(() => {
      if (--this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  async #send(conversationId: string, userId: string): Promise<void> {
    const req: ActorRequest = {
      caller: { id: userId, name: '' },
      conversationId,
      receivedAt: Date.now(),
      // No session and no lane: like the gateway's own typing requests, it neither waits for nor holds up sends.
      sessionId: '',
      laneSeq: 0,
      laneAfter: 0,
      op: { $case: 'typing', value: { active: false } },
    };
    const subject = shardSubject(shardOf(conversationId, this.o.shardCount));
    try {
      const reply = await this.o.bus.request(subject, ActorRequest.encode(req).finish(), { timeoutMs: this.#timeoutMs });
      const result = ActorReply.decode(reply.data).result;
      if (result?.$case === 'failure' && result.value.code !== 'forbidden') {
        this.#log('failed', { conversationId, userId, code: result.value.code }, 'cannot stop a typist');
      }
    } catch (err) {
      this.#log('failed', { err, conversationId, userId }, 'cannot stop a typist');
    }
  }

  #log(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = this.#lastLog.get(key);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return;
    this.#lastLog.set(key, now);
    this.o.logger.warn(fields, message);
  }
}
