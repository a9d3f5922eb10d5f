import { type ChatMessage, type Conversation, type ConversationViews, Event, GROUPS_CREATED_SUBJECT, type MemberMarks, conversationEventsSubject, userEventsSubject } from '@chat/proto';
import { type Bus, type BusMessage, type Logger, type Subscription, SpanKind, contextFromHeaders, contextOf, decodeBody, sampledTraceId, startSpan } from '@chat/platform';
import type { SessionRegistry } from '../session/session-registry.js';
import type { EventSinks } from './event-sinks.js';
import type { Outbox } from '../session/outbox.js';
import type { BackendClient } from '../routing/backend-client.js';
import { eventToFrame, memberViewFrames } from './event-frames.js';
import { RoomTable } from './room-table.js';
import { BACKFILL_LIMIT, RoomBackfill } from './room-backfill.js';
import { PresenceDedupe } from './presence-dedupe.js';
import { RoomLoader } from './room-loader.js';

export interface EventDeliveryOptions {
  bus: Bus;
  outbox: Outbox;
  backend: BackendClient;
  logger: Logger;
  /**
   * A user's conversations were loaded only after their sessions got hello
   * (the first attempt failed): events of those conversations in between may
   * have been missed, so the sessions should reconnect and sync.
   */
  loadedLate(userId: string): void;
}

/**
 * Delivers bus events to this gateway's sessions, with the conversation
 * (room) as the unit of fan-out:
 * - a conversation's events (message.new, message.updated, receipt, typing,
 *   and a membership change's views: each local member gets their own
 *   conversation.updated rendered from it) arrive once per gateway on the conversation's subject, which the gateway
 *   follows while one of its users is a member (RoomTable); each is rendered
 *   once and the same frame is written to every session of every local
 *   member (typing: but the typist's);
 * - a user's presence changes arrive the same way, on each of their
 *   conversations' subjects, and go to each local member once;
 * - per-user events (conversation.updated, conversation.removed)
 *   arrive on the user's subject, followed while the user has a session here;
 *   conversation.updated joins the user to the room, conversation.removed
 *   takes them out;
 * - a new group arrives once on GROUPS_CREATED_SUBJECT and joins every local
 *   member (one bigger than a view lists arrives as a ConversationViews,
 *   whose marks name every member).
 *
 * A connecting user's rooms are loaded (ready()) before their hello, so every
 * event after hello reaches them; a room opened later by a join is backfilled
 * (RoomBackfill). When the load fails (no actor host answers), hello goes out
 * anyway and the load is retried; when it succeeds late, loadedLate() tells
 * the gateway to have those sessions reconnect and sync.
 */
export class EventDelivery {
  readonly #userSubs = new Map<string, Subscription>();
  readonly #roomSubs = new Map<string, Subscription>();
  readonly #loader: RoomLoader;
  readonly #rooms: RoomTable;
  readonly #backfill: RoomBackfill;
  readonly #presenceSeen = new PresenceDedupe();
  #groupsSub: Subscription | undefined;
  #stopReconnects: (() => void) | undefined;
  /** The last per-user event rendered, by its object (in-process) or its bytes: a change may send the same event to many members back to back. */
  #lastRendered: { body: unknown; data: Uint8Array | undefined; frame: string | null } | undefined;
  #sessions: SessionRegistry | undefined;
  #sinks: EventSinks | undefined;

  readonly #bus: Bus;
  readonly #outbox: Outbox;
  readonly #backend: BackendClient;
  readonly #logger: Logger;

  constructor(private readonly o: EventDeliveryOptions) {
    this.#bus = o.bus;
    this.#outbox = o.outbox;
    this.#backend = o.backend;
    this.#logger = o.logger;
    this.#rooms = new RoomTable({
      opened: (id) => this.#roomSubs.set(id, this.#bus.subscribe(conversationEventsSubject(id), (msg) => this.#onRoomEvent(id, msg))),
      closed: (id) => {
        this.#roomSubs.get(id)?.unsubscribe();
        this.#roomSubs.delete(id);
      },
    });
    this.#backfill = new RoomBackfill({
      read: (conversationId, userId, afterSeq) => this.#readAfter(conversationId, userId, afterSeq),
      deliver: (conversationId, event) => this.#deliverToRoom(conversationId, event),
      logger: o.logger,
    });
    this.#loader = new RoomLoader({ rooms: this.#rooms, bus: o.bus, backend: o.backend, logger: o.logger, loadedLate: (userId) => o.loadedLate(userId) });
  }

  /** Where events go: the WebSocket sessions, and the other sinks (gRPC streams) that get the same frames. */
  attach(sessions: SessionRegistry, sinks?: EventSinks): void {
    this.#sessions = sessions;
    this.#sinks = sinks;
    this.#groupsSub ??= this.#bus.subscribe(GROUPS_CREATED_SUBJECT, (msg) => this.#onGroupCreated(msg));
    // Membership events may have been lost while the bus was down (a removal among them): reload every user's rooms.
    this.#stopReconnects ??= this.#bus.onReconnect(() => this.#loader.reloadAll(this.#userSubs.keys()));
  }

  /** Whether `userId` (connected here) is a member of the conversation, as far as this gateway follows their conversations. */
  isMember(userId: string, conversationId: string): boolean {
    return this.#rooms.isMember(userId, conversationId);
  }

  /** Starts delivering `userId`'s events and loading their rooms (see ready()). */
  watch(userId: string): void {
    if (this.#userSubs.has(userId)) return;
    // The user subject first: a membership change after this point reaches us even if the load read the store before it.
    this.#userSubs.set(userId, this.#bus.subscribe(userEventsSubject(userId), (msg) => this.#onUserEvent(userId, msg)));
    this.#rooms.track(userId);
    this.#loader.load(userId);
  }

  /**
   * Resolves once `userId`'s rooms are followed and the subscriptions are in
   * effect on the bus, so every event published after it reaches them, or
   * once the first attempt to read them failed (see loadedLate).
   */
  ready(userId: string): Promise<void> {
    return this.#loader.ready(userId);
  }

  unwatch(userId: string): void {
    this.#userSubs.get(userId)?.unsubscribe();
    this.#userSubs.delete(userId);
    this.#loader.forget(userId);
    this.#rooms.untrack(userId);
  }

  stop(): void {
    for (const sub of this.#userSubs.values()) sub.unsubscribe();
    for (const sub of this.#roomSubs.values()) sub.unsubscribe();
    this.#groupsSub?.unsubscribe();
    this.#groupsSub = undefined;
    this.#stopReconnects?.();
    this.#stopReconnects = undefined;
    this.#loader.stop();
    this.#userSubs.clear();
    this.#roomSubs.clear();
  }

  #isLoaded(userId: string): boolean {
    return this.#rooms.isTracked(userId) && !this.#rooms.isLoading(userId);
  }

  /** Joins `userId` to a conversation they were announced a member of; a room opened this way is backfilled. */
  #join(userId: string, conversationId: string, lastSeq: number): void {
    if (this.#rooms.join(userId, conversationId) === 'opened' && this.#isLoaded(userId)) this.#backfill.start(conversationId, userId, lastSeq);
  }

  #onUserEvent(userId: string, msg: BusMessage): void {
    const event = this.#decode(msg);
    if (!event) return;
    const span = this.#consumerSpan(msg, event);
    const kind = event.kind;
    if (kind?.$case === 'conversationUpdated') this.#join(userId, kind.value.id, kind.value.lastSeq);
    this.#toUser(userId, this.#render(event, msg), 0);
    if (kind?.$case === 'conversationRemoved') this.#rooms.leave(userId, kind.value);
    span?.end();
  }

  /**
   * With tracing on, a consumer span for delivering an event whose headers
   * carry its publisher's span (one per gateway per event); else undefined.
   */
  #consumerSpan(msg: BusMessage, event: Event) {
    const parent = contextFromHeaders(msg.headers);
    if (parent === undefined) return undefined;
    return startSpan(`deliver ${event.kind?.$case ?? 'event'}`, { kind: SpanKind.CONSUMER, parent, attributes: { 'messaging.destination.name': msg.subject } });
  }

  #onGroupCreated(msg: BusMessage): void {
    const event = this.#decode(msg);
    const kind = event?.kind;
    if (!event || (kind?.$case !== 'conversationUpdated' && kind?.$case !== 'conversationViews')) return;
    const span = this.#consumerSpan(msg, event);
    if (kind.$case === 'conversationUpdated') this.#deliverGroupCreated(event, kind.value);
    else this.#deliverBigGroupCreated(kind.value);
    span?.end();
  }

  /** A new group bigger than a view lists: its members are the marks', each sees their own bounded view. */
  #deliverBigGroupCreated(views: ConversationViews): void {
    const shared = views.shared;
    if (!shared) return;
    let frameFor: ((m: MemberMarks) => string) | undefined;
    for (const mark of views.marks) {
      if (!this.#rooms.isTracked(mark.userId)) continue;
      this.#join(mark.userId, shared.id, shared.lastSeq);
      frameFor ??= memberViewFrames(shared);
      this.#toUser(mark.userId, frameFor(mark), 0);
    }
  }

  #deliverGroupCreated(event: Event, view: Conversation): void {
    let frame: string | null | undefined;
    for (const { userId } of view.members) {
      if (!this.#rooms.isTracked(userId)) continue;
      this.#join(userId, view.id, view.lastSeq);
      frame ??= eventToFrame(event);
      this.#toUser(userId, frame, 0);
    }
  }

  #onRoomEvent(conversationId: string, msg: BusMessage): void {
    const event = this.#decode(msg);
    if (!event || this.#backfill.hold(conversationId, event)) return;
    const span = this.#consumerSpan(msg, event);
    if (!span) {
      this.#deliverToRoom(conversationId, event);
      return;
    }
    this.#deliverToRoom(conversationId, event, sampledTraceId(contextOf(span)));
    span.end();
  }

  /**
   * One frame for every local member of the room: typing and presence skip
   * the user they are about (presence also whoever got the same change through
   * another shared conversation), and only recipients count in the delivery
   * latency.
   */
  #deliverToRoom(conversationId: string, event: Event, traceId?: string): void {
    const members = this.#rooms.membersOf(conversationId);
    if (!members) return;
    const kind = event.kind;
    if (kind?.$case === 'presence') {
      this.#deliverPresence(members, event, kind.value);
      return;
    }
    if (kind?.$case === 'conversationViews') {
      this.#deliverViews(members, kind.value);
      return;
    }
    const frame = eventToFrame(event);
    if (frame === null) return;
    const skip = kind?.$case === 'typing' ? kind.value.userId : undefined;
    const sender = kind?.$case === 'messageNew' ? kind.value.senderId : undefined;
    for (const userId of members) {
      if (userId !== skip) this.#toUser(userId, frame, userId === sender ? 0 : event.originReceivedAt, traceId);
    }
  }

  #deliverPresence(members: ReadonlySet<string>, event: Event, change: { userId: string; online: boolean; lastSeen?: number | undefined }): void {
    let frame: string | null | undefined;
    for (const userId of members) {
      if (userId === change.userId || !this.#presenceSeen.first(change, userId)) continue;
      frame ??= eventToFrame(event);
      this.#toUser(userId, frame, 0);
    }
  }

  /**
   * Each local member's own conversation.updated, for the members whose marks
   * this event carries: a member not in them (just removed) gets none. A big
   * group's change comes as several such events with disjoint marks (the
   * actor splits them to the bus's limit), so each member gets one frame per
   * change, from whichever holds their marks; the walk is over the marks, so
   * the chunks of one change cost the group's size once, not once each.
   */
  #deliverViews(members: ReadonlySet<string>, views: ConversationViews): void {
    if (!views.shared) return;
    let frameFor: ((m: MemberMarks) => string) | undefined;
    for (const mine of views.marks) {
      if (!members.has(mine.userId)) continue;
      frameFor ??= memberViewFrames(views.shared);
      this.#toUser(mine.userId, frameFor(mine), 0);
    }
  }

  #toUser(userId: string, frame: string | null, origin: number, traceId?: string): void {
    if (frame === null) return;
    const sessions = this.#sessions?.sessionsOf(userId);
    if (sessions) for (const session of sessions) this.#outbox.send(session, frame, origin, traceId);
    const sinks = this.#sinks?.of(userId);
    if (sinks) for (const sink of sinks) sink.deliver(frame);
  }

  /** Renders a per-user event, reusing the last frame when the same event comes again (the next member's copy). */
  #render(event: Event, msg: BusMessage): string | null {
    const last = this.#lastRendered;
    if (msg.body !== undefined) {
      if (last?.body === msg.body) return last.frame;
      const frame = eventToFrame(event);
      this.#lastRendered = { body: msg.body, data: undefined, frame };
      return frame;
    }
    if (last?.data && Buffer.compare(last.data, msg.data) === 0) return last.frame;
    const frame = eventToFrame(event);
    this.#lastRendered = { body: undefined, data: Uint8Array.prototype.slice.call(msg.data), frame };
    return frame;
  }

  #decode(msg: BusMessage): Event | undefined {
    try {
      return decodeBody(msg, Event);
    } catch (err) {
      this.#logger.warn({ err, subject: msg.subject }, 'undecodable event');
      return undefined;
    }
  }

  async #readAfter(conversationId: string, userId: string, afterSeq: number): Promise<ChatMessage[]> {
    const reply = await this.#backend.actor(
      {
        caller: { id: userId, name: '' },
        conversationId,
        receivedAt: Date.now(),
        sessionId: '',
        laneSeq: 0,
        laneAfter: 0,
        op: { $case: 'history', value: { after: afterSeq, before: undefined, limit: BACKFILL_LIMIT } },
      },
      undefined,
      true,
    );
    if (reply.$case !== 'history') throw new Error(`history answered with ${reply.$case}`);
    if (reply.value.hasMore) this.#logger.warn({ conversationId, afterSeq }, `more than ${BACKFILL_LIMIT} messages to read back for a joined conversation; the rest come on sync`);
    return reply.value.messages;
  }
}
