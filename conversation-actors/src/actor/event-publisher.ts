import { type ChatMessage, type Conversation, Event, userEventsSubject } from '@chat/proto';
import type { Bus } from '@chat/platform';

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

  conversationUpdated(userId: string, conversation: Conversation): void {
    const bytes = Event.encode({ originReceivedAt: 0, kind: { $case: 'conversationUpdated', value: conversation } }).finish();
    this.bus.publish(userEventsSubject(userId), bytes);
  }

  #fanOut(recipients: readonly string[], bytes: Uint8Array): void {
    for (const userId of recipients) this.bus.publish(userEventsSubject(userId), bytes);
  }
}
