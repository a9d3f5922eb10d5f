import { type Conversation, type Event, type MemberMarks, conversationToJson, eventFrame, memberToJson, messageToJson } from '@chat/proto';

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
 * each: it is rendered once, and each member's frame is that rendering with
 * their marks, plus, when the shared list is bounded (docs/protocol.md,
 * "Member paging") and leaves them out, their own entry in its last place
 * (as boundedMembers puts it). The marks are the view's last fields but
 * changeSeq, and a `,"readSeq":` with bare quotes cannot occur inside a JSON
 * string, so the last one is the view's own; the members are rendered apart
 * (the view is rendered with an empty list, whose `"members":[]` key is as
 * unambiguous), so no member's marks can be mistaken for the view's.
 */
export function memberViewFrames(shared: Conversation): (marks: MemberMarks) => string {
  const json = conversationToJson(shared);
  const whole = eventFrame('conversation.updated', { conversation: { ...json, members: [] } });
  const listAt = whole.indexOf('"members":[]') + '"members":['.length;
  const head = whole.slice(0, listAt);
  const middle = whole.slice(listAt + 1, whole.lastIndexOf(',"readSeq":'));
  const suffix = `,"changeSeq":${shared.changeSeq}}}`;
  const listed = new Set(json.members.map((m) => m.userId));
  const all = JSON.stringify(json.members).slice(1, -1);
  // Rendered only when some member will need a place of their own.
  let allButLast: string | undefined;
  const listFor = (m: MemberMarks): string => {
    if (json.membersTruncated !== true || listed.has(m.userId)) return all;
    allButLast ??= JSON.stringify(json.members.slice(0, -1)).slice(1, -1);
    const own = JSON.stringify(memberToJson({ userId: m.userId, role: m.role ?? 'member', readSeq: m.readSeq, deliveredSeq: m.deliveredSeq }));
    return allButLast === '' ? own : `${allButLast},${own}`;
  };
  // A member's mentions (protocol extension) sit between unread and changeSeq, as conversationToJson puts them.
  return (m) =>
    `${head}${listFor(m)}]${middle},"readSeq":${m.readSeq},"deliveredSeq":${m.deliveredSeq},"unread":${m.unread}${m.mentions ? `,"mentions":${m.mentions}` : ''}${suffix}`;
}
