import { type ChatMessage, type Conversation, Event, type Receipt, userEventsSubject } from '@chat/proto';
import type { Bus } from '@chat/platform';
import type { TypingEvent, UserPresence } from '@chat/proto';

/**
 * Publishes events to members' user subjects. Each event is encoded once and
 * the same bytes go to every recipient; per-publisher bus ordering keeps a
 * conversation's events in seq order for every subscriber.
 */
export class EventPublisher {
  constructor(private readonly bus: Bus) {}

  messageNew(recipients: readonly string[], message: ChatMessage, originReceivedAt: number): void {
    this.#fanOut(recipients, Event.encode({ originReceivedAt, kind: { $case: 'messageNew', value: message } }).finish());
  }

  /**
   * An edit, delete or reaction, to every member, after it is stored. No
   * origin time: the delivery latency histogram measures message.send only.
   */
  messageUpdated(recipients: readonly string[], message: ChatMessage): void {
    this.#fanOut(recipients, Event.encode({ originReceivedAt: 0, kind: { $case: 'messageUpdated', value: message } }).finish());
  }

  /** A member's receipt marks moved: to every member (all their sessions), after they are stored. */
  receipt(recipients: readonly string[], receipt: Receipt): void {
    this.#fanOut(recipients, Event.encode({ originReceivedAt: 0, kind: { $case: 'receipt', value: receipt } }).finish());
  }

  conversationUpdated(userId: string, conversation: Conversation): void {
    const bytes = Event.encode({ originReceivedAt: 0, kind: { $case: 'conversationUpdated', value: conversation } }).finish();
    this.bus.publish(userEventsSubject(userId), bytes);
  }

  /** To a user who left or was removed, after the change is stored: the conversation is gone for them. */
  conversationRemoved(userId: string, conversationId: string): void {
    const bytes = Event.encode({ originReceivedAt: 0, kind: { $case: 'conversationRemoved', value: conversationId } }).finish();
    this.bus.publish(userEventsSubject(userId), bytes);
  }

  /** `typing` (typing.ts): to the other members only; nothing about it is stored. */
  typing(recipients: readonly string[], typing: TypingEvent): void {
    this.#fanOut(recipients, Event.encode({ originReceivedAt: 0, kind: { $case: 'typing', value: typing } }).finish());
  }

  /** `presence` (../query/presence-fanout.ts): a user went online or offline, to the users sharing a conversation with them. */
  presence(recipients: readonly string[], presence: UserPresence): void {
    this.#fanOut(recipients, Event.encode({ originReceivedAt: 0, kind: { $case: 'presence', value: presence } }).finish());
  }

  #fanOut(recipients: readonly string[], bytes: Uint8Array): void {
    for (const userId of recipients) this.bus.publish(userEventsSubject(userId), bytes);
  }
}
