import { type Conversation, type Event, type MemberMarks, conversationToJson, eventFrame, messageToJson } from '@chat/proto';

/** The JSON frame of a bus event, or null for an event kind this gateway does not deliver. */
export function eventToFrame(event: Event): string | null {
  const kind = event.kind;
  switch (kind?.$case) {
    case 'messageNew':
      return eventFrame('message.new', { message: messageToJson(kind.value) });
    case 'messageUpdated':
      return eventFrame('message.updated', { message: messageToJson(kind.value) });
    case 'messageDelta': {
      // Protocol extension (docs/protocol.md): text appended to a streaming message.
      const { conversationId, seq, offset, text } = kind.value;
      return eventFrame('message.delta', { conversationId, seq, offset, text });
    }
    case 'threadUpdated': {
      // Protocol extension (docs/protocol.md): a thread root's counters.
      const { conversationId, root, threadReplies, threadLastAt } = kind.value;
      return eventFrame('thread.updated', { conversationId, root, threadReplies, threadLastAt });
    }
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

/**
 * The conversation.updated frames of a ConversationViews, one per member,
 * without serializing the shared part (the member list above all) again for
 * each: it is rendered once, and each member's frame is that prefix plus
 * their marks. The marks are the view's last fields but changeSeq, and a
 * `,"readSeq":` with bare quotes cannot occur inside a JSON string, so the
 * last one is the view's own (members' marks, in the member list, come
 * before it).
 */
export function memberViewFrames(shared: Conversation): (marks: MemberMarks) => string {
  const whole = eventFrame('conversation.updated', { conversation: conversationToJson(shared) });
  const prefix = whole.slice(0, whole.lastIndexOf(',"readSeq":'));
  const suffix = `,"changeSeq":${shared.changeSeq}}}`;
  // A member's mentions (protocol extension) sit between unread and changeSeq, as conversationToJson puts them.
  return (m) =>
    `${prefix},"readSeq":${m.readSeq},"deliveredSeq":${m.deliveredSeq},"unread":${m.unread}${m.mentions ? `,"mentions":${m.mentions}` : ''}${suffix}`;
}
