import type { ChatMessage, User } from '@chat/proto';
import type { ConversationKind, MemberRecord, Role } from '../store.js';

// The tables' rows as better-sqlite3 returns them (see schema.ts), and their
// mapping to and from the store's objects. Pure: no statement runs here.

/** A row of `users`. */
export interface UserRow {
  id: string;
  name: string;
  /** 1 when the user has a bots row (a LEFT JOIN's `b.id IS NOT NULL`). */
  bot: number;
}

/** A row of `conversations`: a conversation's head. */
export interface ConversationRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  created_at: number;
  last_seq: number;
  last_activity_at: number;
  epoch: number;
  change_seq: number;
}

/** A conversation joined with one member's receipt marks: the raw stuff of a view. */
export interface ViewRow extends ConversationRow {
  read_seq: number;
  delivered_seq: number;
}

/** A member's row of `members`, without the conversation id. */
export interface MemberRow {
  user_id: string;
  role: Role;
  joined_at: number;
  read_seq: number;
  delivered_seq: number;
}

/** A row of `messages`: attachments and reactions are JSON, deleted is 0 or 1. */
export interface MessageRow {
  conversation_id: string;
  seq: number;
  id: string;
  sender_id: string;
  client_msg_id: string;
  body: string;
  attachments: string;
  created_at: number;
  edited_at: number | null;
  deleted: number;
  reactions: string;
  change_seq: number;
  /** NULL: an ordinary message; 1: a streamed one still growing; 0: finished. */
  streaming: number | null;
  truncated: number;
  /** The seq this message replies to; NULL (absent in rows of older callers) if none. */
  reply_to?: number | null;
  /** The seq of the thread root of a thread reply; NULL if none. */
  thread_root?: number | null;
  /** A root's counters (NULL: no thread); never written from a message (appendMessages' threads are). */
  thread_replies?: number | null;
  thread_last_at?: number | null;
  /** JSON array of the mentioned user ids, '@all' or '@here'; NULL if none. */
  mentions?: string | null;
}

/** The User a users row holds. */
export function toUser(row: UserRow): User {
  return row.bot ? { id: row.id, name: row.name, bot: true } : { id: row.id, name: row.name };
}

/** The MemberRecord a members row holds. */
export function toMemberRecord(row: MemberRow): MemberRecord {
  return {
    userId: row.user_id,
    role: row.role,
    joinedAt: row.joined_at,
    readSeq: row.read_seq,
    deliveredSeq: row.delivered_seq,
  };
}

/** A deleted message is stored without its body, attachments and reactions. */
export function toRow(message: ChatMessage): MessageRow {
  const reactions: Record<string, string[]> = {};
  if (!message.deleted) for (const [emoji, users] of Object.entries(message.reactions)) reactions[emoji] = users.ids;
  return {
    conversation_id: message.conversationId,
    seq: message.seq,
    id: message.id,
    sender_id: message.senderId,
    client_msg_id: message.clientMsgId,
    body: message.deleted ? '' : message.body,
    attachments: JSON.stringify(message.deleted ? [] : message.attachments),
    created_at: message.createdAt,
    edited_at: message.editedAt ?? null,
    deleted: message.deleted ? 1 : 0,
    reactions: JSON.stringify(reactions),
    change_seq: message.changeSeq,
    streaming: message.streaming === undefined ? null : message.streaming ? 1 : 0,
    truncated: message.truncated ? 1 : 0,
    reply_to: message.replyTo?.seq ?? null,
    thread_root: message.threadRoot ?? null,
    mentions: message.mentions && message.mentions.ids.length > 0 ? JSON.stringify(message.mentions.ids) : null,
  };
}

/** A deleted message comes back with an empty body, no attachments and no reactions, whatever the row holds. */
export function toMessage(row: MessageRow): ChatMessage {
  const deleted = row.deleted !== 0;
  const reactions: ChatMessage['reactions'] = {};
  if (!deleted) {
    for (const [emoji, ids] of Object.entries(JSON.parse(row.reactions) as Record<string, string[]>)) reactions[emoji] = { ids };
  }
  return {
    conversationId: row.conversation_id,
    seq: row.seq,
    id: row.id,
    senderId: row.sender_id,
    clientMsgId: row.client_msg_id,
    body: deleted ? '' : row.body,
    attachments: deleted ? [] : (JSON.parse(row.attachments) as ChatMessage['attachments']),
    createdAt: row.created_at,
    editedAt: row.edited_at ?? undefined,
    deleted,
    reactions,
    changeSeq: row.change_seq,
    ...(row.streaming === null || row.streaming === undefined ? {} : { streaming: row.streaming !== 0, truncated: row.truncated !== 0 }),
    // The seq only: the store resolves the quote (../quotes.ts) before serving it.
    ...(row.reply_to === null || row.reply_to === undefined ? {} : { replyTo: { seq: row.reply_to, senderId: '', text: '', deleted: false } }),
    ...(row.thread_root === null || row.thread_root === undefined ? {} : { threadRoot: row.thread_root }),
    ...(row.mentions ? { mentions: { ids: JSON.parse(row.mentions) as string[] } } : {}),
    ...(row.thread_replies ? { threadReplies: row.thread_replies, threadLastAt: row.thread_last_at ?? 0 } : {}),
  };
}
