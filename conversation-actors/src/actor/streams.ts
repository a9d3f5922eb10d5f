import type { ActorRequest, ChatMessage, ProtocolLimits, StreamAppend, StreamState } from '@chat/proto';
import type { Clock } from '@chat/platform';
import type { ChatStore, ConversationRecord, ThreadSummary } from '../store/store.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import type { EventPublisher } from './event-publisher.js';
import { readMessageAt } from '../store/read-message.js';

/** Timing of streamed messages (see StreamTimings in config). */
export interface StreamTimings {
  /** A stream with no append for this long is finished with what arrived, `truncated`. */
  idleMs: number;
  /** The growing body is persisted at least this often, so a crash loses at most this much of it. */
  persistEveryMs: number;
  /** Deltas within this window go out as one message.delta. */
  coalesceMs: number;
}

/** How far back resume() looks for streams left open: streams are answers being written now, so among the newest messages. */
export const RESUME_WINDOW = 20;

export const DEFAULT_STREAM_TIMINGS: StreamTimings = { idleMs: 30_000, persistEveryMs: 500, coalesceMs: 50 };

/** What the streams of one conversation need of their actor. */
export interface StreamsHost {
  readonly conversationId: string;
  readonly store: ChatStore;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly limits: ProtocolLimits;
  readonly timings: StreamTimings;
  /** The epoch to write with; throws NotOwnedError when the shard is no longer held. */
  requireEpoch(): number;
  /** Queues a request into the actor's mailbox (timers persist and finish streams through it, in order with everything else). */
  enqueue(req: ActorRequest): void;
  /** Runs `publish` after the current request's reply (so a finished message's event follows its answer). */
  afterAnswer(publish: () => void): void;
}

interface LiveStream {
  message: ChatMessage;
  body: string;
  persistedLength: number;
  lastPersistAt: number;
  /** Appended but not yet published (contiguous, from `offset`). */
  pending: { offset: number; text: string } | undefined;
  lastPublishAt: number;
  publishTimer: NodeJS.Timeout | undefined;
  persistTimer: NodeJS.Timeout | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * The streaming messages of one conversation (a bot's answer growing token
 * by token). Everything but the timers runs inside the actor's mailbox, so a
 * stream's appends, persists and end are ordered with every other write.
 *
 * Guarantees: the body grows only at its end (an append past it is a gap the
 * caller must fill first, an overlap appends only what is new, so retries
 * and a resend after failover never double text); members get at most one
 * message.delta per message per `coalesceMs`, in body order and before the
 * final message.updated; the body is persisted at least every
 * `persistEveryMs` while it grows; a stream idle for `idleMs` is finished
 * `truncated` with what arrived.
 */
export class Streams {
  readonly #live = new Map<number, LiveStream>();

  constructor(private readonly host: StreamsHost) {}

  /** Whether any stream is open here (the actor must not be evicted then). */
  get open(): number {
    return this.#live.size;
  }

  /** A streaming send was committed: its body grows from here. */
  started(message: ChatMessage): void {
    if (message.streaming !== true || this.#live.has(message.seq)) return;
    this.#track(message, this.host.clock.now());
  }

  /** `message` with the live body of its stream, if it is streaming here (history reads). */
  overlay(message: ChatMessage): ChatMessage {
    const live = this.#live.get(message.seq);
    return live && live.body !== message.body ? { ...message, body: live.body } : message;
  }

  /** Applies a StreamAppend of `callerId` (a member; the caller checked). */
  async append(callerId: string, record: ConversationRecord, op: StreamAppend): Promise<StreamState> {
    const live = this.#live.get(op.seq) ?? (await this.#load(op.seq));
    if (live.message.senderId !== callerId) throw new ForbiddenError('only the sender may stream into a message');
    if (live.message.streaming !== true) {
      if (live.message.deleted) throw new ConflictError(`message ${op.seq} was deleted`);
      // A stream that ended: a retry of an append its body already holds (the final one's answer
      // was lost, say) answers the final message; anything else, and any append to a message that
      // never streamed, is refused.
      const held = live.message.streaming === false && op.offset + op.text.length <= live.body.length && live.body.startsWith(op.text, op.offset);
      if (held) return { length: live.body.length, message: live.message };
      throw new ConflictError(`message ${op.seq} is not streaming`);
    }
    const now = this.host.clock.now();
    if (op.offset > live.body.length) return { length: live.body.length, message: undefined };
    const added = op.offset + op.text.length > live.body.length ? op.text.slice(live.body.length - op.offset) : '';
    if (live.body.length + added.length > this.host.limits.maxBodyChars) {
      throw new BadRequestError(`body longer than ${this.host.limits.maxBodyChars} characters`);
    }
    if (added.length > 0) {
      const offset = live.body.length;
      live.body += added;
      if (live.pending) live.pending.text += added;
      else live.pending = { offset, text: added };
      this.#schedulePublish(live, now);
    }
    this.#armIdle(live);
    if (op.end) return this.#finish(live, record, op.truncated);
    if (live.body.length > live.persistedLength) {
      if (now - live.lastPersistAt >= this.host.timings.persistEveryMs) await this.#persist(live, now);
      else this.#schedulePersist(live);
    }
    return { length: live.body.length, message: undefined };
  }

  /**
   * Picks up streams this actor did not start (it was activated after a
   * restart, a failover or a passivation): the conversation's last
   * RESUME_WINDOW messages that are still streaming are tracked here, so they
   * grow on their producer's next append or, if none comes, end truncated
   * after the idle time like any other stream.
   */
  async resume(): Promise<void> {
    const recent = await this.host.store.readMessages(this.host.conversationId, { limit: RESUME_WINDOW, direction: 'backward' });
    const now = this.host.clock.now();
    for (const m of recent) if (m.streaming === true && !this.#live.has(m.seq)) this.#track(m, now);
  }

  /** Whether message `seq` is streaming here. */
  isLive(seq: number): boolean {
    return this.#live.has(seq);
  }

  /** Persists message `seq`'s whole live body now (before another write of the same message reads it back). */
  async settle(seq: number): Promise<void> {
    const live = this.#live.get(seq);
    if (live && live.body.length > live.persistedLength) await this.#persist(live, this.host.clock.now());
  }

  /** Another write changed message `seq` (a reaction, a delete): later persists start from it; a deleted one stops streaming. */
  replaced(message: ChatMessage): void {
    const live = this.#live.get(message.seq);
    if (!live) return;
    if (message.deleted) {
      this.#clearTimers(live);
      if (live.publishTimer) clearTimeout(live.publishTimer);
      this.#live.delete(message.seq);
      return;
    }
    live.message = message;
  }

  /**
   * Thread replies moved root `summary.root` to change position `changeSeq`
   * in the store: if it is streaming here, later persists keep that
   * changeSeq (rather than write back the older one, which would drop the
   * root from sync's `updated`) and its final message carries the counters.
   */
  threadMoved(summary: ThreadSummary, changeSeq: number): void {
    const live = this.#live.get(summary.root);
    if (live) live.message = { ...live.message, changeSeq, threadReplies: summary.replies, threadLastAt: summary.lastAt };
  }

  /** Drops every timer (the actor stops); what is not persisted the streaming caller resends to the next owner. */
  stop(): void {
    for (const live of this.#live.values()) this.#clearTimers(live);
    this.#live.clear();
  }

  async #load(seq: number): Promise<LiveStream> {
    const message = await readMessageAt(this.host.store, this.host.conversationId, seq);
    if (!message) throw new NotFoundError(`no message ${seq} in this conversation`);
    if (message.streaming !== true) return this.#fresh(message, 0);
    // Streaming in the store but not here: this actor took over (failover, shard move). Resume it.
    return this.#track(message, this.host.clock.now());
  }

  #fresh(message: ChatMessage, now: number): LiveStream {
    return {
      message,
      body: message.body,
      persistedLength: message.body.length,
      lastPersistAt: now,
      pending: undefined,
      lastPublishAt: 0,
      publishTimer: undefined,
      persistTimer: undefined,
      idleTimer: undefined,
    };
  }

  #track(message: ChatMessage, now: number): LiveStream {
    const live = this.#fresh(message, now);
    this.#live.set(message.seq, live);
    this.#armIdle(live);
    return live;
  }

  async #finish(live: LiveStream, record: ConversationRecord, truncated: boolean): Promise<StreamState> {
    this.#clearTimers(live);
    const final: ChatMessage = { ...live.message, body: live.body, streaming: false, truncated, changeSeq: record.changeSeq + 1 };
    await this.host.store.updateMessage({ epoch: this.host.requireEpoch(), message: final, endsStream: true });
    record.changeSeq = final.changeSeq;
    this.#live.delete(live.message.seq);
    live.message = final;
    this.host.afterAnswer(() => {
      this.#publishPending(live);
      this.host.events.messageUpdated(this.host.conversationId, final);
    });
    return { length: live.body.length, message: final };
  }

  async #persist(live: LiveStream, now: number): Promise<void> {
    const body = live.body;
    await this.host.store.updateMessage({ epoch: this.host.requireEpoch(), message: { ...live.message, body } });
    live.persistedLength = body.length;
    live.lastPersistAt = now;
  }

  #schedulePublish(live: LiveStream, now: number): void {
    if (live.publishTimer) return;
    const wait = live.lastPublishAt + this.host.timings.coalesceMs - now;
    if (wait <= 0) {
      this.#publishPending(live);
      return;
    }
    live.publishTimer = setTimeout(() => {
      live.publishTimer = undefined;
      this.#publishPending(live);
    }, wait);
  }

  #publishPending(live: LiveStream): void {
    if (live.publishTimer) clearTimeout(live.publishTimer);
    live.publishTimer = undefined;
    const pending = live.pending;
    if (!pending) return;
    live.pending = undefined;
    live.lastPublishAt = this.host.clock.now();
    this.host.events.messageDelta({ conversationId: this.host.conversationId, seq: live.message.seq, offset: pending.offset, text: pending.text });
  }

  #schedulePersist(live: LiveStream): void {
    if (live.persistTimer) return;
    const wait = Math.max(0, live.lastPersistAt + this.host.timings.persistEveryMs - this.host.clock.now());
    live.persistTimer = setTimeout(() => {
      live.persistTimer = undefined;
      // An empty append at the body's end: persists through the mailbox if anything is unpersisted.
      this.#internal(live, { seq: live.message.seq, offset: live.body.length, text: '', end: false, truncated: false });
    }, wait);
    live.persistTimer.unref();
  }

  #armIdle(live: LiveStream): void {
    if (live.idleTimer) clearTimeout(live.idleTimer);
    live.idleTimer = setTimeout(() => {
      live.idleTimer = undefined;
      this.#internal(live, { seq: live.message.seq, offset: live.body.length, text: '', end: true, truncated: true });
    }, this.host.timings.idleMs);
    live.idleTimer.unref();
  }

  #internal(live: LiveStream, op: StreamAppend): void {
    if (this.#live.get(live.message.seq) !== live) return;
    this.host.enqueue({
      caller: { id: live.message.senderId, name: '' },
      conversationId: this.host.conversationId,
      receivedAt: 0,
      sessionId: '',
      laneSeq: 0,
      laneAfter: 0,
      op: { $case: 'streamAppend', value: op },
    });
  }

  #clearTimers(live: LiveStream): void {
    for (const t of [live.persistTimer, live.idleTimer]) if (t) clearTimeout(t);
    live.persistTimer = undefined;
    live.idleTimer = undefined;
  }
}
