import type { Attachment, ChatMessage, Conversation, ConversationJson, Member, MemberJson, MessageJson } from '@chat/proto';

/**
 * The protocol's JSON objects (what the op handlers answer, and the WebSocket
 * sends) as the proto objects of the gRPC API. The inverse of messageToJson
 * and conversationToJson in @chat/proto, so a gRPC reply carries exactly what
 * a WebSocket reply to the same op carries.
 */
export function messageFromJson(m: MessageJson): ChatMessage {
  const reactions: ChatMessage['reactions'] = {};
  for (const [emoji, ids] of Object.entries(m.reactions)) reactions[emoji] = { ids };
  return {
    conversationId: m.conversationId,
    seq: m.seq,
    id: m.id,
    senderId: m.senderId,
    clientMsgId: m.clientMsgId,
    body: m.body,
    attachments: m.attachments.map(
      (a): Attachment => ({ name: a.name, mediaType: a.mediaType, size: a.size, url: a.url, width: a.width, height: a.height }),
    ),
    createdAt: m.createdAt,
    editedAt: m.editedAt ?? undefined,
    deleted: m.deleted,
    reactions,
    changeSeq: m.changeSeq,
    streaming: m.streaming,
    truncated: m.truncated,
    threadRoot: m.threadRoot,
    mentions: m.mentions ? { ids: m.mentions } : undefined,
    threadReplies: m.threadReplies,
    threadLastAt: m.threadLastAt,
    replyTo: m.replyTo ? { seq: m.replyTo.seq, senderId: m.replyTo.senderId, text: m.replyTo.text, deleted: m.replyTo.deleted } : undefined,
  };
}

export function conversationFromJson(c: ConversationJson): Conversation {
  return {
    id: c.id,
    kind: c.kind,
    title: c.title ?? undefined,
    members: c.members.map(memberFromJson),
    memberCount: c.memberCount,
    createdAt: c.createdAt,
    lastSeq: c.lastSeq,
    lastMessage: c.lastMessage ? messageFromJson(c.lastMessage) : undefined,
    readSeq: c.readSeq,
    deliveredSeq: c.deliveredSeq,
    unread: c.unread,
    mentions: c.mentions,
    changeSeq: c.changeSeq,
  };
}

export function memberFromJson(m: MemberJson): Member {
  return { userId: m.userId, role: m.role, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq };
}
