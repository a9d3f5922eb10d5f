import { Event, type TypingEvent, conversationEventsSubject } from '@chat/proto';
import { type Bus, encoded } from '@chat/platform';

/**
 * Publishes a `typing` event once, on the conversation's event subject: every
 * gateway following the conversation delivers it to its members but the
 * typist (the same per-gateway fan-out as messages). Nothing is stored.
 */
export function publishTyping(bus: Bus, typing: TypingEvent): void {
  bus.publish(conversationEventsSubject(typing.conversationId), encoded(Event, { originReceivedAt: 0, kind: { $case: 'typing', value: typing } }));
}
