import { Metadata, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { type ConversationJson, type MessageJson, type OpArgs, type WatchEventsRequest, type WatchEventsResponse, eventFrame } from '@chat/proto';
import type { Logger } from '@chat/platform';
import type { EventSink } from '../delivery/event-sinks.js';
import type { OpHandlers, RequestContext } from '../ops/op-handlers.js';
import { serviceError, toServiceError } from './status-codes.js';

/** What a stream needs from the gateway. */
export interface WatchStreamDeps {
  handlers: Pick<OpHandlers, 'sync' | 'message.history'>;
  /** Registers the sink for the user's events; `ready` resolves once every event published after it reaches the sink. */
  register(userId: string, sink: EventSink): { ready: Promise<void>; unregister(): void };
  /** Most messages one history page reads during a replay. */
  historyPageLimit: number;
  maxBufferedEvents: number;
  logger: Logger;
}

type Call = ServerWritableStream<WatchEventsRequest, WatchEventsResponse>;
type SyncResult = { conversations: ConversationJson[]; messages: Record<string, MessageJson[]>; truncated: string[]; updated: Record<string, MessageJson[]> };
type HistoryResult = { messages: MessageJson[]; hasMore: boolean };

/** `{"ev":"<name>"` and, for message events, the message's conversation and seq: messageToJson writes those two first. */
const NAME = /^\{"ev":"([^"]+)"/;
const MESSAGE_KEY = /^\{"ev":"message\.(?:new|updated)","message":\{"conversationId":"([^"]+)","seq":(\d+)/;
/** message.delta (a streaming message grew) names its conversation and seq first too. */
const DELTA_KEY = /^\{"ev":"message\.delta","conversationId":"([^"]+)","seq":(\d+)/;

/**
 * One WatchEvents call: the caller's events as their WebSocket sessions get
 * them, from the gateway's fan-out (it is an EventSink), after a replay of
 * what the caller missed since the request's watermarks.
 *
 * No gap, no duplicate: the sink is registered, and live events are held,
 * before the replay's `sync` reads the store; the replay goes out first, then
 * the held events, minus the message.new the replay already carried (seq at
 * or below what was replayed or the caller's mark for that conversation).
 * A conversation `sync` reports as truncated is read in full with history pages.
 *
 * The response headers (initial metadata) go out once the sink is
 * registered: from then on every event published reaches the stream.
 *
 * Flow control: frames wait in grpc-js's write queue only while the client
 * reads; once more than `maxBufferedEvents` wait (or are held during a
 * replay), the stream ends with RESOURCE_EXHAUSTED and writes nothing more.
 * The client resumes with its watermarks.
 */
export class WatchStream implements EventSink {
  #held: string[] | undefined = [];
  #closed = false;
  #unregister: (() => void) | undefined;
  /** Run when the stream closes: a replay waiting for the client to read, the owner's cleanup. */
  readonly #onClose = new Set<() => void>();
  /** Per conversation, the highest message.new seq the replay sent or the caller already had. */
  readonly #covered = new Map<string, number>();

  constructor(
    private readonly call: Call,
    private readonly ctx: RequestContext,
    private readonly args: OpArgs<'sync'>,
    private readonly deps: WatchStreamDeps,
  ) {}

  /** Runs the stream until the client cancels or the server ends it. */
  async run(): Promise<void> {
    this.call.on('cancelled', () => this.#close());
    this.call.on('close', () => this.#close());
    const registration = this.deps.register(this.ctx.user.id, this);
    this.#unregister = registration.unregister;
    if (this.#closed) {
      registration.unregister();
      return;
    }
    try {
      await registration.ready;
      if (this.#closed) return;
      // Initial metadata now tells the client its stream is registered: every event published from here on reaches it.
      if (!this.#closed) this.call.sendMetadata(new Metadata());
      if (Object.keys(this.args.since).length > 0) await this.#replay();
    } catch (err) {
      this.#fail(err);
      return;
    }
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const frame of held) {
      if (this.#closed) return;
      const response = toResponse(frame);
      if (response.name === 'message.new' && response.seq <= (this.#covered.get(response.conversationId) ?? 0)) continue;
      this.#write(response);
    }
  }

  deliver(frame: string): void {
    if (this.#closed) return;
    if (this.#held) {
      this.#held.push(frame);
      if (this.#held.length > this.deps.maxBufferedEvents) this.#overflow();
      return;
    }
    this.#write(toResponse(frame));
  }

  interrupt(reason: string): void {
    this.#end(serviceError('unavailable', reason));
  }

  /** The caller's token is no longer valid (revoked bot token, expired JWT): ends the stream UNAUTHENTICATED. */
  revoke(reason: string): void {
    this.#end(serviceError('unauthorized', reason));
  }

  /** Runs `fn` once the stream has closed, however it closed (now if it has). */
  whenClosed(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.add(fn);
  }

  /** Ends the stream from the server side (gateway shutdown): the client resumes elsewhere with its watermarks. */
  shutdown(): void {
    this.#end(serviceError('unavailable', 'gateway shutting down: resume WatchEvents with your watermarks'));
  }

  async #replay(): Promise<void> {
    for (const [id, seq] of Object.entries(this.args.since)) this.#covered.set(id, seq);
    const result = (await this.deps.handlers.sync(this.ctx, this.args)) as SyncResult;
    for (const conversation of result.conversations) {
      await this.#replayWrite(eventFrame('conversation.updated', { conversation }));
    }
    const truncated = new Set(result.truncated);
    const ids = new Set([...Object.keys(result.messages), ...truncated]);
    for (const id of ids) {
      if (truncated.has(id)) await this.#replayHistory(id);
      else for (const message of result.messages[id] ?? []) await this.#replayMessage(message);
    }
    for (const list of Object.values(result.updated)) {
      for (const message of list) await this.#replayWrite(eventFrame('message.updated', { message }));
    }
  }

  /** Every message of a conversation after the caller's mark, a page at a time. */
  async #replayHistory(conversationId: string): Promise<void> {
    let after = this.args.since[conversationId] ?? 0;
    for (;;) {
      const page = (await this.deps.handlers['message.history'](this.ctx, {
        conversationId,
        after,
        limit: this.deps.historyPageLimit,
      })) as HistoryResult;
      for (const message of page.messages) await this.#replayMessage(message);
      const last = page.messages.at(-1);
      if (!page.hasMore || !last || this.#closed) return;
      after = last.seq;
    }
  }

  async #replayMessage(message: MessageJson): Promise<void> {
    const covered = this.#covered.get(message.conversationId) ?? 0;
    if (message.seq <= covered) return;
    this.#covered.set(message.conversationId, message.seq);
    await this.#replayWrite(eventFrame('message.new', { message }));
  }

  /** A replayed event: written at the client's pace (the replay waits for the queue to drain). */
  async #replayWrite(frame: string): Promise<void> {
    if (this.#closed) return;
    if (this.call.write(toResponse(frame))) return;
    // Wait for the client to read, or for the stream to close (a cancel emits no 'drain').
    await new Promise<void>((resolve) => {
      const done = () => {
        this.call.off('drain', done);
        this.#onClose.delete(done);
        resolve();
      };
      this.call.once('drain', done);
      this.#onClose.add(done);
    });
  }

  #write(response: WatchEventsResponse): void {
    if (this.call.writableLength >= this.deps.maxBufferedEvents) {
      this.#overflow();
      return;
    }
    this.call.write(response);
  }

  #overflow(): void {
    this.deps.logger.info({ userId: this.ctx.user.id, limit: this.deps.maxBufferedEvents }, 'WatchEvents consumer too slow: stream closed');
    // rate_limited is RESOURCE_EXHAUSTED (GRPC_STATUS_OF).
    this.#end(serviceError('rate_limited', `slow consumer: more than ${this.deps.maxBufferedEvents} events waiting; resume WatchEvents with your watermarks`));
  }

  #fail(err: unknown): void {
    this.#end(toServiceError(err, this.deps.logger, 'WatchEvents'));
  }

  /** Ends the call with `error` (the client gets it after the events already queued) and stops writing. */
  #end(error: Partial<ServiceError>): void {
    if (this.#closed) return;
    this.#close();
    this.call.emit('error', error);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = undefined;
    this.#unregister?.();
    for (const wake of [...this.#onClose]) wake();
  }
}

/** The response carrying one event frame. */
export function toResponse(frame: string): WatchEventsResponse {
  const message = MESSAGE_KEY.exec(frame);
  if (message) return { name: frame.startsWith('{"ev":"message.new"') ? 'message.new' : 'message.updated', json: frame, conversationId: message[1]!, seq: Number(message[2]) };
  const delta = DELTA_KEY.exec(frame);
  if (delta) return { name: 'message.delta', json: frame, conversationId: delta[1]!, seq: Number(delta[2]) };
  return { name: NAME.exec(frame)?.[1] ?? '', json: frame, conversationId: '', seq: 0 };
}
