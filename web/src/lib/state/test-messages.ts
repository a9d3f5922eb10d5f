import type { Conversation, Message } from '@chat/client';

/** Builders for state tests: protocol objects with only the interesting fields given. */
export function msg(conversationId: string, seq: number, over: Partial<Message> = {}): Message {
  return {
    conversationId,
    seq,
    id: `${conversationId}:${seq}`,
    senderId: 'bob',
    clientMsgId: `c-${conversationId}-${seq}`,
    body: `message ${seq}`,
    attachments: [],
    createdAt: 1_000 + seq,
    editedAt: null,
    deleted: false,
    reactions: {},
    changeSeq: 0,
    ...over,
  };
}

export function conv(id: string, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    kind: 'group',
    title: id,
    members: [
      { userId: 'alice', role: 'owner' },
      { userId: 'bob', role: 'member' },
    ],
    memberCount: 2,
    createdAt: 1_000,
    lastSeq: 0,
    lastMessage: null,
    readSeq: 0,
    deliveredSeq: 0,
    unread: 0,
    changeSeq: 0,
    ...over,
  };
}
