import { type Event, conversationToJson, eventFrame, messageToJson } from '@chat/proto';

/** The JSON frame of a bus event, or null for an event kind this gateway does not deliver. */
export function eventToFrame(event: Event): string | null {
  const kind = event.kind;
  switch (kind?.$case) {
    case 'messageNew':
      return eventFrame('message.new', { message: messageToJson(kind.value) });
    case 'messageUpdated':
      return eventFrame('message.updated', { message: messageToJson(kind.value) });
    case 'conversationUpdated':
      return eventFrame('conversation.updated', { conversation: conversationToJson(kind.value) });
    case 'conversationRemoved':
      return eventFrame('conversation.removed', { conversationId: kind.value });
    case 'receipt': {
      const { conversationId, userId, deliveredSeq, readSeq } = kind.value;
      return eventFrame('receipt', { conversationId, userId, deliveredSeq, readSeq });
    }
    case 'typing': {
      const { conversationId, userId, active } = kind.value;
      return eventFrame('typing', { conversationId, userId, active });
    }
    case 'presence': {
      const { userId, online, lastSeen } = kind.value;
      // lastSeen is null while online (as in presence.get) or if never seen.
      return eventFrame('presence', { userId, online, lastSeen: online ? null : (lastSeen ?? null) });
    }
    default:
      return null;
  }
}
