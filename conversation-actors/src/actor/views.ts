import type { Conversation } from '@chat/proto';
import type { ConversationRecord } from '../store/store.js';

/**
 * A freshly created conversation as one member sees it. Only valid while it
 * has no messages; afterwards views come from the store, which knows unread.
 */
export function newConversationView(record: ConversationRecord, userId: string): Conversation {
  const member = record.members.find((m) => m.userId === userId);
  return {
    id: record.id,
    kind: record.kind,
    title: record.title ?? undefined,
    members: record.members.map((m) => ({ userId: m.userId, role: m.role, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq })),
    createdAt: record.createdAt,
    lastSeq: record.lastSeq,
    lastMessage: undefined,
    readSeq: member?.readSeq ?? 0,
    deliveredSeq: member?.deliveredSeq ?? 0,
    unread: 0,
    changeSeq: record.changeSeq,
  };
}
