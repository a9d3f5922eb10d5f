import type { ChatMessage, Conversation } from '@chat/proto';
import type { ConversationRecord, MembershipChange } from '@chat/conversation-actors';

/** The base timestamp of every contract fixture (ms since the epoch). */
export const T0 = 1_700_000_000_000;

/** A message with predictable defaults: id and clientMsgId derive from the seq. */
export function message(conversationId: string, seq: number, senderId: string, fields: Partial<ChatMessage> = {}): ChatMessage {
  return {
    conversationId,
    seq,
    id: `${conversationId}/${seq}`,
    senderId,
    clientMsgId: `client-${seq}`,
    body: `message ${seq}`,
    attachments: [],
    createdAt: T0 + seq * 1000,
    deleted: false,
    reactions: {},
    changeSeq: 0,
    ...fields,
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to reject, it resolved');
}

/** A copy sorted by id: the order of getUsers is not part of the contract. */
export function byId<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A copy sorted by seq, for results whose order is not part of the contract. */
export function bySeq(messages: ChatMessage[]): ChatMessage[] {
  return [...messages].sort((a, b) => a.seq - b.seq);
}

/** Member order is not part of the contract. */
export function sortMembers(record: ConversationRecord | null): ConversationRecord | null {
  if (!record) return record;
  return { ...record, members: [...record.members].sort((a, b) => (a.userId < b.userId ? -1 : 1)) };
}

/** The view with its members sorted by user id, for the same reason. */
export function sortViewMembers(view: Conversation): Conversation {
  return { ...view, members: [...view.members].sort((a, b) => (a.userId < b.userId ? -1 : 1)) };
}

/** A membership change of `conversationId` at epoch 1 and changeSeq 1 that changes nothing but `fields`. */
export function membershipChange(conversationId: string, fields: Partial<MembershipChange>): MembershipChange {
  return { conversationId, epoch: 1, add: [], remove: [], roles: [], changeSeq: 1, ...fields };
}
