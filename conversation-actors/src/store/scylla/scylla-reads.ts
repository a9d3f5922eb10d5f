import type { ChatMessage, Conversation } from '@chat/proto';
import type { ConversationRecord, MemberRecord, MemberView } from '../store.js';
import { bucketOf, bucketRanges } from './scylla-buckets.js';
import { type HeadRow, sortMembers, toChatMessage, toHead, toMembers, toRecord } from './scylla-rows.js';
import { type ScyllaSession, mapLimit, num } from './scylla-session.js';
import { resolveQuotes } from '../quotes.js';

// The reads the store composes its answers from. Each function names the
// partitions it touches; DESIGN.md says why each is bounded.

/** Requests in flight at once for reads that fan out over partitions. */
export const FAN_OUT = 32;

/**
 * Unread counts look at most this many of the newest unread messages one by
 * one (three small columns each); older unread ones are counted without
 * looking (own and deleted ones included), so a huge backlog costs one bounded read.
 */
export const UNREAD_EXACT_WINDOW = 1000;

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
async function readQuotedMessage(s: ScyllaSession, conversationId: string, seq: number): Promise<ChatMessage | undefined> {
  const m = await readMessage(s, conversationId, seq);
  return m ? (await resolveQuotes([m], (seqs) => readMessages(s, conversationId, seqs)))[0] : undefined;
}

/** The sender and deleted flag of the messages after `afterSeq` up to lastSeq, newest UNREAD_EXACT_WINDOW only. */
async function unreadRows(s: ScyllaSession, conversationId: string, afterSeq: number, lastSeq: number) {
  const from = Math.max(afterSeq + 1, lastSeq - UNREAD_EXACT_WINDOW + 1, 1);
  const rows: { seq: number; senderId: string; deleted: boolean; mentions: string[] | undefined }[] = [];
  for (const part of bucketRanges(from, lastSeq)) {
    const got = await s.allRows('unreadScan', [conversationId, part.bucket, part.from, part.to]);
    for (const r of got) {
      const mentions = r['mentions'] as string | null | undefined;
      rows.push({ seq: num(r['seq']), senderId: r['sender_id'] as string, deleted: r['deleted'] === true, mentions: mentions ? (JSON.parse(mentions) as string[]) : undefined });
    }
  }
  return { from, rows };
}

/**
 * Unread count of each user, from one scan starting after the lowest read
 * mark: messages after the user's readSeq, not the user's own, not deleted
 * (exact within the newest UNREAD_EXACT_WINDOW; older ones counted as a whole).
 */
async function unreadCounts(s: ScyllaSession, head: HeadRow, marks: { userId: string; readSeq: number }[]): Promise<Map<string, { unread: number; mentions: number }>> {
  const counts = new Map<string, { unread: number; mentions: number }>();
  const pending = marks.filter((m) => m.readSeq < head.lastSeq);
  for (const m of marks) counts.set(m.userId, { unread: 0, mentions: 0 });
  if (pending.length === 0) return counts;
  // A loop, not Math.min(...): a spread of 100,000 marks can overflow the stack.
  let lowest = head.lastSeq;
  for (const m of pending) lowest = Math.min(lowest, m.readSeq);
  const { from, rows } = await unreadRows(s, head.id, lowest, head.lastSeq);
  for (const m of pending) {
    // Messages between the mark and the exact window are counted without
    // looking; their mentions are not counted (they were not read).
    let n = Math.max(0, from - (m.readSeq + 1));
    let mentions = 0;
    for (const r of rows) {
      if (r.seq <= m.readSeq || r.senderId === m.userId || r.deleted) continue;
      n++;
      if (r.mentions && r.mentions.some((x) => x === m.userId || x === '@all' || x === '@here')) mentions++;
    }
    counts.set(m.userId, { unread: n, mentions });
  }
  return counts;
}

/** The view of `userId`, a member, given what was read; `members` is shared by every view of one read (only encoded, never changed). */
function toView(
  head: HeadRow,
  members: Conversation['members'],
  lastMessage: ChatMessage | undefined,
  me: MemberRecord,
  counts: { unread: number; mentions: number },
): Conversation {
  return {
    id: head.id,
    kind: head.kind,
    title: head.title ?? undefined,
    members,
    createdAt: head.createdAt,
    lastSeq: head.lastSeq,
    lastMessage,
    readSeq: me.readSeq,
    deliveredSeq: me.deliveredSeq,
    unread: counts.unread,
    mentions: counts.mentions || undefined,
    changeSeq: head.changeSeq,
  };
}

/**
 * The conversation as each of `userIds` that is a member sees it (members,
 * receipts, the last message and one unread scan shared by all); none if the
 * conversation is unknown. `knownHead` saves the head read when the caller has it.
 */
export async function readMemberViews(
  s: ScyllaSession,
  conversationId: string,
  userIds: readonly string[],
  knownHead?: HeadRow,
): Promise<MemberView[]> {
  const [head, members] = await Promise.all([knownHead ?? readHead(s, conversationId), readMembers(s, conversationId)]);
  if (!head) return [];
  const sorted = sortMembers(members);
  const byUser = new Map(sorted.map((m) => [m.userId, m]));
  const wanted = [...new Set(userIds)].flatMap((u) => {
    const m = byUser.get(u);
    return m ? [m] : [];
  });
  if (wanted.length === 0) return [];
  const [lastMessage, unread] = await Promise.all([
    head.lastSeq > 0 ? readQuotedMessage(s, conversationId, head.lastSeq) : Promise.resolve(undefined),
    unreadCounts(s, head, wanted),
  ]);
  // One list for every view: a copy per view was quadratic in the group's size (10^10 entries at 100,000 members).
  const listed = sorted.map((m) => ({ userId: m.userId, role: m.role, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq }));
  return wanted.map((me) => ({ userId: me.userId, view: toView(head, listed, lastMessage, me, unread.get(me.userId) ?? { unread: 0, mentions: 0 }) }));
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
