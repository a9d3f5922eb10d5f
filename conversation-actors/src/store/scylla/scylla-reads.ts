import type { ChatMessage } from '@chat/proto';
import type { ConversationRecord, MemberRecord } from '../store.js';
import { bucketOf, bucketRanges } from './scylla-buckets.js';
import { type HeadRow, toChatMessage, toHead, toMembers, toRecord } from './scylla-rows.js';
import { type ScyllaSession, mapLimit } from './scylla-session.js';
import { resolveQuotes } from '../quotes.js';

// The reads the store composes its answers from. Each function names the
// partitions it touches; DESIGN.md says why each is bounded.

/** Requests in flight at once for reads that fan out over partitions. */
export const FAN_OUT = 32;

/** The head row, or null (one partition of conversations). */
export async function readHead(s: ScyllaSession, conversationId: string): Promise<HeadRow | null> {
  const row = await s.row('getHead', [conversationId]);
  return row ? toHead(row) : null;
}

/** The members with their receipt marks (the members and receipts partitions of the conversation). */
export async function readMembers(s: ScyllaSession, conversationId: string): Promise<MemberRecord[]> {
  const [members, receipts] = await Promise.all([s.allRows('getMembers', [conversationId]), s.allRows('getReceipts', [conversationId])]);
  return toMembers(members, receipts);
}

/**
 * A page of members by ascending user id after `after`, with their marks:
 * one slice of the members partition (the clustering order is the user id's),
 * then the same slice of the receipts partition. Each read is bounded by the
 * page (receipt rows exist for members only: removal drops them; every
 * page of the driver is followed all the same).
 */
export async function readMemberPage(s: ScyllaSession, conversationId: string, after: string | undefined, limit: number): Promise<MemberRecord[]> {
  const members = await s.rows('memberPage', [conversationId, after ?? '', limit]);
  if (members.length === 0) return [];
  const first = members[0]!['user_id'] as string;
  const last = members[members.length - 1]!['user_id'] as string;
  const receipts = await s.allRows('receiptRange', [conversationId, first, last]);
  return toMembers(members, receipts);
}

/** Head and members, or null. */
export async function readRecord(s: ScyllaSession, conversationId: string): Promise<ConversationRecord | null> {
  const [head, members] = await Promise.all([readHead(s, conversationId), readMembers(s, conversationId)]);
  return head ? toRecord(head, members) : null;
}

/**
 * Messages with from <= seq <= to, at most `limit`, ascending; `backward`
 * takes the newest `limit`. Walks the buckets from the right end and stops at
 * `limit`: one partition, two when the range crosses a boundary.
 */
export async function readRange(
  s: ScyllaSession,
  conversationId: string,
  range: { from: number; to: number; limit: number; backward: boolean },
): Promise<ChatMessage[]> {
  const out: ChatMessage[] = [];
  for (const part of bucketRanges(range.from, range.to, range.backward)) {
    const rows = await s.rows(range.backward ? 'readDescending' : 'readAscending', [conversationId, part.bucket, part.from, part.to, range.limit - out.length]);
    out.push(...rows.map(toChatMessage));
    if (out.length >= range.limit) break;
  }
  return range.backward ? out.reverse() : out;
}

/** One message, or undefined (one partition). */
export async function readMessage(s: ScyllaSession, conversationId: string, seq: number): Promise<ChatMessage | undefined> {
  const row = await s.row('getMessage', [conversationId, bucketOf(seq), seq]);
  return row ? toChatMessage(row) : undefined;
}

/** Messages `seqs` (undefined where there is none), FAN_OUT point reads at a time. */
export function readMessages(s: ScyllaSession, conversationId: string, seqs: readonly number[]): Promise<(ChatMessage | undefined)[]> {
  return mapLimit(seqs, FAN_OUT, (seq) => readMessage(s, conversationId, seq));
}

/** One message with its reply quote resolved, or undefined. */
export async function readQuotedMessage(s: ScyllaSession, conversationId: string, seq: number): Promise<ChatMessage | undefined> {
  const m = await readMessage(s, conversationId, seq);
  return m ? (await resolveQuotes([m], (seqs) => readMessages(s, conversationId, seqs)))[0] : undefined;
}

/** The ids of a user's conversations (one partition of user_conversations). */
export async function userConversationIds(s: ScyllaSession, userId: string): Promise<string[]> {
  return (await s.allRows('getUserConversations', [userId])).map((r) => r['conversation_id'] as string);
}

/** The heads of the given conversations, unknown ones left out (one partition each, FAN_OUT at a time). */
export async function readHeads(s: ScyllaSession, conversationIds: readonly string[]): Promise<HeadRow[]> {
  const heads = await mapLimit(conversationIds, FAN_OUT, (id) => readHead(s, id));
  return heads.filter((h): h is HeadRow => h !== null);
}
