import { type ChatMessage, type Conversation, Event, GROUPS_CREATED_SUBJECT, type MessageDelta, type Receipt, type ThreadUpdate, conversationEventsSubject, userEventsSubject } from '@chat/proto';
import { type Bus, type BusPayload, type Context, SpanKind, activeSpanContext, contextOf, encoded, startSpan, traceHeaders } from '@chat/platform';
import type { MemberView } from '../store/store.js';

/**
 * Publishes events. A conversation's events for all its members go out once,
 * on the conversation's subject: every gateway with a member of it connected
 * subscribes there and writes the event to those members' sessions, so a
 * message into a 1,000-member group is one bus message per gateway, not one
 * per member. (`typing` takes the same road, published by the presence
 * service.) Per-user events (a member's own view of a conversation, its
 * removal) go to that user's subject; a membership change goes to the
 * conversation's subject for the members who stay, as one ConversationViews.
 *
 * Per-publisher bus ordering keeps a conversation's events in seq order, and
 * a member's conversation.updated (which makes their gateway join the
 * conversation's subject) ahead of the conversation events that follow it.
 */
export class EventPublisher {
  constructor(private readonly bus: Bus) {}

  /** To every member's sessions, the sender's included (their other devices). */
  messageNew(conversationId: string, message: ChatMessage, originReceivedAt: number, trace?: Context): void {
    // The send's own span, never the active one: a group commit publishes for several requests.
    this.#publish(conversationEventsSubject(conversationId), { originReceivedAt, kind: { $case: 'messageNew', value: message } }, trace);
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
   * Each member's own view after a membership change, in one event on the
   * conversation's subject: the view they share (marks zeroed) once, and each
   * member's marks. Gateways render every local member's conversation.updated
   * from it.
   */
  conversationViews(conversationId: string, views: readonly MemberView[]): void {
    const first = views[0];
    if (!first) return;
    const shared: Conversation = { ...first.view, readSeq: 0, deliveredSeq: 0, unread: 0, mentions: undefined };
    const marks = views.map(({ userId, view }) => ({ userId, readSeq: view.readSeq, deliveredSeq: view.deliveredSeq, unread: view.unread, mentions: view.mentions }));
    this.#toConversation(conversationId, { originReceivedAt: 0, kind: { $case: 'conversationViews', value: { shared, marks } } });
  }

  /** One member's own view of the conversation; joins them to its events on their gateways. */
  conversationUpdated(userId: string, conversation: Conversation): void {
    this.#toUser(userId, { originReceivedAt: 0, kind: { $case: 'conversationUpdated', value: conversation } });
  }

  /**
   * A new group's view, the same for every member (nothing read yet), once for
   * all of them: each gateway joins its connected members and delivers it.
   */
  groupCreated(conversation: Conversation): void {
    this.#publish(GROUPS_CREATED_SUBJECT, { originReceivedAt: 0, kind: { $case: 'conversationUpdated', value: conversation } }, activeSpanContext());
  }

  /** To a user who left or was removed, after the change is stored: the conversation is gone for them. */
  conversationRemoved(userId: string, conversationId: string): void {
    this.#toUser(userId, { originReceivedAt: 0, kind: { $case: 'conversationRemoved', value: conversationId } });
  }

  #toConversation(conversationId: string, event: Event): void {
    this.#publish(conversationEventsSubject(conversationId), event, activeSpanContext());
  }

  #toUser(userId: string, event: Event): void {
    this.#publish(userEventsSubject(userId), event, activeSpanContext());
  }

  /**
   * With `parent` (tracing on, a traced request being handled: the actor runs
   * it in that request's context), the publish is a producer span whose
   * traceparent the event carries, so each gateway's delivery joins the trace.
   */
  #publish(subject: string, event: Event, parent: Context | undefined): void {
    const payload: BusPayload = encoded(Event, event);
    if (parent === undefined) {
      this.bus.publish(subject, payload);
      return;
    }
    const span = startSpan(`publish ${event.kind?.$case ?? 'event'}`, { kind: SpanKind.PRODUCER, parent, attributes: { 'messaging.destination.name': subject } });
    try {
      this.bus.publish(subject, payload, traceHeaders(contextOf(span, parent)));
    } finally {
      span.end();
    }
  }
}
