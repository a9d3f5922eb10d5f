import { ActorReply, ActorRequest, ID_PATTERN, type ProtocolLimits, shardOf, shardSubject } from '@chat/proto';
import { type Bus, type BusMessage, type Clock, type Logger, type Subscription, SpanKind, contextFromHeaders, contextOf, decodeBody, encoded, endSpan, startSpan } from '@chat/platform';
import { ConversationActor } from '../actor/conversation-actor.js';
import { failure } from '../actor/conversation-actor.js';
import { EventPublisher } from '../actor/event-publisher.js';
import { pageBudget } from '../store/reply-budget.js';
import { DEFAULT_STREAM_TIMINGS, type StreamTimings } from '../actor/streams.js';
import type { ChatStore } from '../store/store.js';
import type { ActorMetrics } from '../metrics.js';
import { errorCodeOf } from '../errors.js';
import type { TaskTrace } from '../actor/replies.js';
import type { OwnershipListener, ShardOwnership } from './shard-ownership.js';

/** Recent send keys each actor remembers (seqs only) to answer retries without a write attempt. */
const RECENT_KEYS = 256;
/** Streams left open that one look after taking shards picks up (ChatStore.listOpenStreams). */
const OPEN_STREAMS_LIMIT = 10_000;
/** Shards are taken a few at a time; one look covers those taken within this long. */
const OPEN_STREAMS_DELAY_MS = 100;

export interface ActorHostOptions {
  bus: Bus;
  store: ChatStore;
  ownership: ShardOwnership;
  shardCount: number;
  limits: ProtocolLimits;
  logger: Logger;
  metrics: ActorMetrics;
  clock: Clock;
  /** An actor with nothing to do for this long is passivated (its head reloads from the store). */
  idleMs: number;
  mailboxCapacity: number;
  maxBatch: number;
  /** Streamed messages' idle end, persist and coalescing windows (default DEFAULT_STREAM_TIMINGS). */
  streams?: StreamTimings;
}

/**
 * Serves the shards this host owns: subscribes to chat.shard.<n> for each,
 * routes every request to its conversation's actor (activating it on
 * demand), and passivates idle actors. Releasing a shard drains its actors
 * before ownership moves on.
 */
export class ActorHost implements OwnershipListener {
  readonly #actors = new Map<string, ConversationActor>();
  readonly #subs = new Map<number, Subscription>();
  readonly #events: EventPublisher;
  #sweeper: NodeJS.Timeout | undefined;
  #openStreamsLook: NodeJS.Timeout | undefined;
  /** Shards taken since the last look for open streams: only theirs are picked up (the others' streams have their actors). */
  readonly #newShards = new Set<number>();

  constructor(private readonly options: ActorHostOptions) {
    this.#events = new EventPublisher({ bus: options.bus, viewMembers: options.limits.viewMembers, logger: options.logger, failures: options.metrics.eventPublishFailures });
    options.metrics.shardsTotal.set(options.shardCount);
  }

  async start(): Promise<void> {
    await this.options.ownership.start(this);
    this.#sweeper = setInterval(() => this.#passivateIdle(), Math.max(1000, this.options.idleMs / 2));
    this.#sweeper.unref();
  }

  /** Releases every shard (draining actors) and stops. */
  async stop(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    clearTimeout(this.#openStreamsLook);
    await this.options.ownership.stop();
  }

  acquired(shard: number, epoch: number): void {
    if (this.#subs.has(shard)) return;
    this.options.logger.debug({ shard, epoch }, 'serving shard');
    // Not a queue group: a former owner frozen past its lease (GC, SIGSTOP, a stalled VM)
    // is still subscribed until its bus connection dies, and a queue group would hand it
    // half of the shard's requests, each lost for a whole request timeout. Every
    // subscriber gets the request instead; the new owner answers, and the stale one
    // answers nothing it could act on (its epoch is past, so it writes nothing) when it wakes.
    this.#subs.set(shard, this.options.bus.subscribe(shardSubject(shard), (msg) => this.#onRequest(shard, msg)));
    this.options.metrics.shardsOwned.set(this.#subs.size);
    this.#newShards.add(shard);
    this.#openStreamsLook ??= setTimeout(() => {
      this.#openStreamsLook = undefined;
      void this.#resumeOpenStreams();
    }, OPEN_STREAMS_DELAY_MS);
    this.#openStreamsLook.unref();
  }

  /**
   * Wakes the conversations of the shards just taken that have a message
   * still streaming: its producer may have gone away with the actor that
   * served it (a crash, a restart), and only a running actor ends an idle
   * stream. Best effort: a failed look is logged, and such a stream then ends
   * once its conversation is next used.
   */
  async #resumeOpenStreams(): Promise<void> {
    const o = this.options;
    const taken = new Set(this.#newShards);
    this.#newShards.clear();
    let open;
    try {
      open = (await o.store.listOpenStreams?.(OPEN_STREAMS_LIMIT)) ?? [];
    } catch (err) {
      o.logger.warn({ err }, 'could not look for streams left open; they end when their conversations are next used');
      return;
    }
    let resumed = 0;
    for (const { conversationId, seq, senderId } of open) {
      const shard = shardOf(conversationId, o.shardCount);
      if (!taken.has(shard) || !this.#subs.has(shard) || o.ownership.epochOf(shard) === undefined) continue;
      (this.#actors.get(conversationId) ?? this.#activate(conversationId, shard)).resumeStream(seq, senderId);
      resumed++;
    }
    if (resumed > 0) o.logger.info({ resumed }, 'picked up streams left open: each ends truncated unless its producer goes on');
  }

  async releasing(shard: number): Promise<void> {
    this.#subs.get(shard)?.unsubscribe();
    this.#subs.delete(shard);
    this.options.metrics.shardsOwned.set(this.#subs.size);
    const stopping: Promise<void>[] = [];
    for (const [id, actor] of this.#actors) {
      if (shardOf(id, this.options.shardCount) !== shard) continue;
      stopping.push(actor.stop().then(() => this.#forget(id, actor)));
    }
    await Promise.all(stopping);
  }

  #onRequest(shard: number, msg: BusMessage): void {
    let req: ActorRequest;
    try {
      req = decodeBody(msg, ActorRequest);
    } catch (err) {
      this.options.logger.warn({ err, subject: msg.subject }, 'undecodable actor request');
      msg.respond(encoded(ActorReply, failure('bad_request', 'undecodable request')));
      return;
    }
    const id = req.conversationId;
    if (!ID_PATTERN.test(id)) {
      msg.respond(encoded(ActorReply, failure('bad_request', 'invalid conversation id')));
      return;
    }
    if (shardOf(id, this.options.shardCount) !== shard || this.options.ownership.epochOf(shard) === undefined) {
      // Misrouted (a gateway with another SHARDS value) or the shard is leaving us.
      msg.respond(encoded(ActorReply, failure('unavailable', 'conversation not served here; retry')));
      return;
    }
    let actor = this.#actors.get(id);
    if (!actor) {
      actor = this.#activate(id, shard);
    }
    // Tracing on and the request traced: its handling here is a span under the gateway's request span.
    const parent = contextFromHeaders(msg.headers);
    let trace: TaskTrace | undefined;
    if (parent) {
      const span = startSpan(`actor ${req.op?.$case ?? 'none'}`, { kind: SpanKind.SERVER, parent, attributes: { 'chat.op': req.op?.$case ?? '', 'messaging.destination.name': msg.subject } });
      trace = { span, ctx: contextOf(span, parent) };
    }
    let pending: Promise<ActorReply>;
    try {
      pending = actor.enqueue(req, trace);
    } catch (err) {
      const code = errorCodeOf(err);
      msg.respond(encoded(ActorReply, failure(code, err instanceof Error ? err.message : 'failed')));
      if (trace) endSpan(trace.span, err);
      return;
    }
    pending.then((reply) => {
      msg.respond(encoded(ActorReply, reply));
      if (trace) endSpan(trace.span, reply.result?.$case === 'failure' ? reply.result.value.code : undefined);
    });
  }

  #activate(id: string, shard: number): ConversationActor {
    const o = this.options;
    const actor = new ConversationActor(id, {
      store: o.store,
      events: this.#events,
      clock: o.clock,
      logger: o.logger,
      metrics: o.metrics,
      limits: o.limits,
      epoch: () => o.ownership.epochOf(shard),
      onFenced: (conversationId) => {
        o.logger.warn({ conversationId, shard }, 'fenced off by a newer epoch; dropping actor');
        const current = this.#actors.get(conversationId);
        if (current) this.#forget(conversationId, current);
      },
      mailboxCapacity: o.mailboxCapacity,
      maxBatch: o.maxBatch,
      recentKeys: RECENT_KEYS,
      streams: o.streams ?? DEFAULT_STREAM_TIMINGS,
      // Asked at every page: a reconnect may land on a server with another max_payload.
      pageBytes: () => pageBudget(o.bus.maxPayload()),
    });
    this.#actors.set(id, actor);
    o.metrics.activeActors.set(this.#actors.size);
    return actor;
  }

  #forget(id: string, actor: ConversationActor): void {
    if (this.#actors.get(id) === actor) this.#actors.delete(id);
    this.options.metrics.activeActors.set(this.#actors.size);
  }

  #passivateIdle(): void {
    const before = this.options.clock.now() - this.options.idleMs;
    for (const [id, actor] of this.#actors) {
      if (actor.isIdleSince(before)) this.#forget(id, actor);
    }
  }
}
