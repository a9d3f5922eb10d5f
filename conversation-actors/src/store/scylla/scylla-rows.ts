import { types } from 'cassandra-driver';
import type { ChatMessage } from '@chat/proto';
import type { ConversationKind, ConversationRecord, MemberRecord, Role } from '../store.js';
import { type MessageRow, toMessage, toRow } from '../sqlite/sqlite-rows.js';
import { bucketOf } from './scylla-buckets.js';
import { num } from './scylla-session.js';

// Rows of the Scylla tables to and from the store's objects. Messages go
// through the SQLite backend's row mapping (toRow / toMessage), so both
// backends store and serve a deleted message the same way.

/** A conversation's head row (conversations), as read. */
export interface HeadRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  createdAt: number;
  lastSeq: number;
  lastActivityAt: number;
  epoch: number;
  changeSeq: number;
  /** The members at creation: [userId, role] pairs. */
  founders: [string, Role][];
}

export function toHead(row: types.Row): HeadRow {
  return {
    id: row['id'] as string,
    kind: row['kind'] as ConversationKind,
    title: (row['title'] as string | null) ?? null,
    createdAt: num(row['created_at']),
    lastSeq: num(row['last_seq']),
    lastActivityAt: num(row['last_activity_at']),
    epoch: num(row['epoch']),
    changeSeq: num(row['change_seq']),
    founders: JSON.parse((row['founders'] as string | null) ?? '[]') as [string, Role][],
  };
}

/** The record of a head with its members (joined_at, user_id order, as SQLite serves it). */
export function toRecord(head: HeadRow, members: MemberRecord[]): ConversationRecord {
  const { founders: _founders, ...rest } = head;
  return { ...rest, members: sortMembers(members) };
}

/** Members in (joinedAt, userId) order. */
export function sortMembers(members: MemberRecord[]): MemberRecord[] {
  return [...members].sort((a, b) => a.joinedAt - b.joinedAt || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

/** The members of a conversation from its member and receipt rows (a missing receipt row is 0 / 0). */
export function toMembers(memberRows: types.Row[], receiptRows: types.Row[]): MemberRecord[] {
  const marks = new Map(receiptRows.map((r) => [r['user_id'] as string, r]));
  return memberRows.map((m) => {
    const userId = m['user_id'] as string;
    const r = marks.get(userId);
    return {
      userId,
      role: m['role'] as Role,
      joinedAt: num(m['joined_at']),
      readSeq: r ? num(r['read_seq']) : 0,
      deliveredSeq: r ? num(r['delivered_seq']) : 0,
    };
  });
}

/** A bigint cell that may be null or absent. */
function optionalNum(cell: unknown): number | null {
  return cell === null || cell === undefined ? null : num(cell);
}

/** A messages row as the message the store serves (a deleted one empty, whatever the row holds). */
export function toChatMessage(row: types.Row): ChatMessage {
  const sqliteRow: MessageRow = {
    conversation_id: row['conversation_id'] as string,
    seq: num(row['seq']),
    id: row['id'] as string,
    sender_id: row['sender_id'] as string,
    client_msg_id: row['client_msg_id'] as string,
    body: (row['body'] as string | null) ?? '',
    attachments: (row['attachments'] as string | null) ?? '[]',
    created_at: num(row['created_at']),
    edited_at: row['edited_at'] === null || row['edited_at'] === undefined ? null : num(row['edited_at']),
    deleted: row['deleted'] === true ? 1 : 0,
    reactions: (row['reactions'] as string | null) ?? '{}',
    change_seq: num(row['change_seq']),
    streaming: typeof row['streaming'] === 'boolean' ? (row['streaming'] ? 1 : 0) : null,
    truncated: row['truncated'] === true ? 1 : 0,
    reply_to: optionalNum(row['reply_to']),
    thread_root: optionalNum(row['thread_root']),
    thread_replies: optionalNum(row['thread_replies']),
    thread_last_at: optionalNum(row['thread_last_at']),
    mentions: (row['mentions'] as string | null | undefined) ?? null,
  };
  return toMessage(sqliteRow);
}

/**
 * The parameters of CQL.putMessage. An absent editedAt is `unset` (no cell
 * written), not null: a null would write a cell tombstone per message.
 */
export function messageInsertParams(message: ChatMessage): unknown[] {
  const r = toRow(message);
  return [
    r.conversation_id,
    r.seq,
    r.id,
    r.sender_id,
    r.client_msg_id,
    r.body,
    r.attachments,
    r.created_at,
    r.edited_at ?? types.unset,
    r.deleted !== 0,
    r.reactions,
    r.change_seq,
    // Unset, not null, for an ordinary message: no tombstone cells.
    r.streaming === null ? types.unset : r.streaming !== 0,
    r.streaming === null ? types.unset : r.truncated !== 0,
    // Unset for a message that replies to nothing: no tombstone cell.
    r.reply_to === null || r.reply_to === undefined ? types.unset : r.reply_to,
    r.thread_root === null || r.thread_root === undefined ? types.unset : r.thread_root,
    r.mentions ?? types.unset,
    bucketOf(r.seq),
  ];
}

/** The parameters of CQL.updateMessage: the mutable columns, then the key. */
export function messageUpdateParams(message: ChatMessage): unknown[] {
  const r = toRow(message);
  const streaming = r.streaming === null ? types.unset : r.streaming !== 0;
  const truncated = r.streaming === null ? types.unset : r.truncated !== 0;
  return [r.body, r.attachments, r.edited_at ?? types.unset, r.deleted !== 0, r.reactions, r.change_seq, streaming, truncated, r.conversation_id, bucketOf(r.seq), r.seq];
}
