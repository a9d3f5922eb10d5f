import { type ChatMessage, type Conversation, Event, GROUPS_CREATED_SUBJECT, type MemberMarks, type MessageDelta, type Receipt, type ThreadUpdate, boundView, conversationEventsSubject, userEventsSubject } from '@chat/proto';
import { type Bus, type BusHeaders, type BusPayload, type Context, type Logger, SpanKind, activeSpanContext, contextOf, encoded, payloadBytes, startSpan, traceHeaders } from '@chat/platform';
import type { Counter } from 'prom-client';
import type { MemberView } from '../store/store.js';
import { chunkConversationViews } from './views-chunks.js';

/**
 * What a ConversationViews chunk leaves of the bus's message limit for the
 * headers the publish adds (a traceparent and a tracestate, NATS framing).
 */
export const HEADER_ALLOWANCE_BYTES = 1024;

export interface EventPublisherOptions {
  bus: Bus;
  /** Most members a published view lists (ProtocolLimits.viewMembers). */
  viewMembers: number;
  logger: Logger;
  /** Counts the events the bus refused, by kind (chat_event_publish_failures_total). */
  failures?: Counter<'event'> | undefined;
}

/**
 * Publishes events. A conversation's events for all its members go out once,
 * on the conversation's subject: every gateway with a member of it connected
 * subscribes there and writes the event to those members' sessions, so a
 * message into a 1,000-member group is one bus message per gateway, not one
 * per member. (`typing` takes the same road, published by the presence
 * service.) Per-user events (a member's own view of a conversation, its
 * removal) go to that user's subject; a membership change goes to the
 * conversation's subject for the members who stay, as a ConversationViews
 * (or a few, for a group too big for one bus message).
 *
 * Per-publisher bus ordering keeps a conversation's events in seq order, and
 * a member's conversation.updated (which makes their gateway join the
 * conversation's subject) ahead of the conversation events that follow it.
 *
 * Every view it publishes is bounded to `viewMembers` members (boundView,
 * docs/protocol.md "Member paging"); the one thing that grows with a group,
 * a ConversationViews' marks (one small entry per member), is split into as
 * many ConversationViews as keep each within the bus's message limit
 * (Bus.maxPayload, less HEADER_ALLOWANCE_BYTES), published back to back, so
 * they keep their place in the conversation's order.
 *
 * Publishing never throws: the change is stored and answered by then. An
 * event the bus refuses is logged (error, with the conversation id and the
 * event's size) and counted in `failures`, and the events after it still go.
 */
export class EventPublisher {
  readonly #bus: Bus;
  readonly #viewMembers: number;
  readonly #log: Logger;
  readonly #failures: Counter<'event'> | undefined;

  constructor(options: EventPublisherOptions) {
    this.#bus = options.bus;
    this.#viewMembers = options.viewMembers;
    this.#log = options.logger;
    this.#failures = options.failures;
  }

  /** To every member's sessions, the sender's included (their other devices). */
  messageNew(conversationId: string, message: ChatMessage, originReceivedAt: number, trace?: Context): void {
    // The send's own span, never the active one: a group commit publishes for several requests.
    this.#publish(conversationEventsSubject(conversationId), conversationId, { originReceivedAt, kind: { $case: 'messageNew', value: message } }, trace);
  }

  /**
   * An edit, delete or reaction, to every member, after it is stored. No
   * origin time: the delivery latency histogram measures message.send only.
   */
  messageUpdated(conversationId: string, message: ChatMessage): void {
    this.#toConversation(conversationId, { originReceivedAt: 0, kind: { $case: 'messageUpdated', value: message } });
  }

  /** A thread root's counters after new replies, to every member, after the replies are stored (after their message.new). */
  threadUpdated(update: ThreadUpdate): void {
    this.#toConversation(update.conversationId, { originReceivedAt: 0, kind: { $case: 'threadUpdated', value: update } });
  }

  /** Text appended to a streaming message, to every member (coalesced by the actor's Streams). */
  messageDelta(delta: MessageDelta): void {
    this.#toConversation(delta.conversationId, { originReceivedAt: 0, kind: { $case: 'messageDelta', value: delta } });
  }

  /** A member's receipt marks moved: to every member (all their sessions), after they are stored. */
  receipt(receipt: Receipt): void {
    this.#toConversation(receipt.conversationId, { originReceivedAt: 0, kind: { $case: 'receipt', value: receipt } });
  }

  /**
   * Each member's own view after a membership change, on the conversation's
   * subject: the view they share (marks zeroed) and each member's marks, in
   * as few ConversationViews as the bus's limit allows (each with the shared
   * view and a slice of the marks; one unless the group is big). Gateways
   * render every local member's conversation.updated from the one that holds
   * their marks.
   */
  conversationViews(conversationId: string, views: readonly MemberView[]): void {
    const first = views[0];
    if (!first) return;
    // Every view of one snapshot lists the same members: the roles come from the first.
    const roles = new Map(first.view.members.map((m) => [m.userId, m.role]));
    const shared = boundView({ ...first.view, readSeq: 0, deliveredSeq: 0, unread: 0, mentions: undefined }, undefined, this.#viewMembers);
    const marks = views.map(
      ({ userId, view }): MemberMarks => ({ userId, readSeq: view.readSeq, deliveredSeq: view.deliveredSeq, unread: view.unread, mentions: view.mentions, role: roles.get(userId) }),
    );
    this.#publishViews(conversationEventsSubject(conversationId), conversationId, shared, marks);
  }

  /** One member's own view of the conversation; joins them to its events on their gateways. */
  conversationUpdated(userId: string, conversation: Conversation): void {
    const value = boundView(conversation, userId, this.#viewMembers);
    this.#toUser(userId, conversation.id, { originReceivedAt: 0, kind: { $case: 'conversationUpdated', value } });
  }

  /**
   * A new group's view, the same for every member (nothing read yet), once for
   * all of them: each gateway joins its connected members and delivers it. A
   * group larger than a view lists goes out as a ConversationViews (the
   * bounded view once, and each member's zero marks and role), since the
   * gateways learn from it who the members are and each must see themself.
   */
  groupCreated(conversation: Conversation): void {
    const shared = boundView(conversation, undefined, this.#viewMembers);
    if (shared.members.length === conversation.members.length) {
      this.#publish(GROUPS_CREATED_SUBJECT, conversation.id, { originReceivedAt: 0, kind: { $case: 'conversationUpdated', value: shared } }, activeSpanContext());
      return;
    }
    const marks = conversation.members.map((m): MemberMarks => ({ userId: m.userId, readSeq: 0, deliveredSeq: 0, unread: 0, mentions: undefined, role: m.role }));
    this.#publishViews(GROUPS_CREATED_SUBJECT, conversation.id, shared, marks);
  }

  /** To a user who left or was removed, after the change is stored: the conversation is gone for them. */
  conversationRemoved(userId: string, conversationId: string): void {
    this.#toUser(userId, conversationId, { originReceivedAt: 0, kind: { $case: 'conversationRemoved', value: conversationId } });
  }

  /** The chunks of one ConversationViews, in order, back to back: nothing of the conversation's can come between them. */
  #publishViews(subject: string, conversationId: string, shared: Conversation, marks: MemberMarks[]): void {
    const parent = activeSpanContext();
    const maxEventBytes = this.#bus.maxPayload() - HEADER_ALLOWANCE_BYTES;
    for (const value of chunkConversationViews(shared, marks, maxEventBytes)) {
      this.#publish(subject, conversationId, { originReceivedAt: 0, kind: { $case: 'conversationViews', value } }, parent);
    }
  }

  #toConversation(conversationId: string, event: Event): void {
    this.#publish(conversationEventsSubject(conversationId), conversationId, event, activeSpanContext());
  }

  #toUser(userId: string, conversationId: string, event: Event): void {
    this.#publish(userEventsSubject(userId), conversationId, event, activeSpanContext());
  }

  /**
   * With `parent` (tracing on, a traced request being handled: the actor runs
   * it in that request's context), the publish is a producer span whose
   * traceparent the event carries, so each gateway's delivery joins the trace.
   */
  #publish(subject: string, conversationId: string, event: Event, parent: Context | undefined): void {
    const payload: BusPayload = encoded(Event, event);
    if (parent === undefined) {
      this.#send(subject, conversationId, event, payload);
      return;
    }
    const span = startSpan(`publish ${event.kind?.$case ?? 'event'}`, { kind: SpanKind.PRODUCER, parent, attributes: { 'messaging.destination.name': subject } });
    try {
      this.#send(subject, conversationId, event, payload, traceHeaders(contextOf(span, parent)));
    } finally {
      span.end();
    }
  }

  #send(subject: string, conversationId: string, event: Event, payload: BusPayload, headers?: BusHeaders): void {
    try {
      this.#bus.publish(subject, payload, headers);
    } catch (err) {
      const kind = event.kind?.$case ?? 'none';
      this.#failures?.inc({ event: kind });
      // The size only when the bus has a limit: in process it would cost an encode for nothing.
      const limit = this.#bus.maxPayload();
      const bounded = Number.isFinite(limit);
      const sizes = bounded ? { bytes: payloadBytes(payload).length, maxPayload: limit } : {};
      this.#log.error({ err, conversationId, subject, event: kind, ...sizes }, 'could not publish an event: its recipients miss it until they sync');
    }
  }
}
