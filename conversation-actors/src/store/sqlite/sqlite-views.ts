import type { ChatMessage, Conversation, Member } from '@chat/proto';
import type { ConversationRecord, MemberView } from '../store.js';
import { type ConversationRow, type MemberRow, type ViewRow, toMemberRecord, toMessage } from './sqlite-rows.js';
import type { Statements } from './sqlite-statements.js';
import { resolveQuotesSync } from '../quotes.js';
import { type UnreadCounts, unreadCounts } from './sqlite-unread.js';

/** One stored message, unquoted (a quote's original), or undefined. */
export function readOne(s: Statements, conversationId: string, seq: number): ChatMessage | undefined {
  const row = s.getMessage.get(conversationId, seq);
  return row ? toMessage(row) : undefined;
}

// Records and views assembled from several reads. The callers run these inside
// one read transaction where the result must come from one snapshot.

/** The conversation's head and members, or null if it does not exist. */
export function readRecord(s: Statements, conversationId: string): ConversationRecord | null {
  const row = s.getConversation.get(conversationId);
  if (!row) return null;
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    createdAt: row.created_at,
    lastSeq: row.last_seq,
    lastActivityAt: row.last_activity_at,
    epoch: row.epoch,
    changeSeq: row.change_seq,
    members: s.getMembers.all(conversationId).map(toMemberRecord),
  };
}

/**
 * The conversation as `userId` sees it, from the view row joining the head
 * with the user's marks. With `viewMembers`, its members are bounded as
 * proto's boundView bounds them (memberCount set), without loading a big
 * group's every member row into JavaScript: a count, then the first owner
 * and admins, the first plain members and the viewer's own row. The count
 * and the owner-and-admins query still walk the group's member index in
 * SQLite (about 8 ms at 100,000 members, against 170 ms to read them all):
 * bounded in what it returns, not yet in what it reads.
 */
export function readView(s: Statements, row: ViewRow, userId: string, viewMembers?: number): Conversation {
  const lastMessage = readLastMessage(s, row);
  if (viewMembers === undefined) return toView(s, row, s.getMembers.all(row.id).map(memberOfView), lastMessage, row, userId);
  const memberCount = s.countMembers.get(row.id) ?? 0;
  const members = memberCount <= viewMembers ? s.getMembers.all(row.id).map(memberOfView) : boundedMembers(s, row.id, userId, viewMembers);
  return { ...toView(s, row, members, lastMessage, row, userId), memberCount };
}

/** The first `limit` members in view order, the viewer in the last place when not among them (view-members.ts's rule). */
function boundedMembers(s: Statements, conversationId: string, userId: string, limit: number): Member[] {
  const privileged = s.privilegedMembers.all(conversationId, limit);
  const plain = privileged.length < limit ? s.plainMembers.all(conversationId, limit - privileged.length) : [];
  const first = [...privileged, ...plain].map(memberOfView);
  if (first.some((m) => m.userId === userId)) return first;
  const viewer = s.memberRow.get(conversationId, userId);
  return viewer ? [...first.slice(0, limit - 1), memberOfView(viewer)] : first;
}

/**
 * The conversation as each of `userIds` that is a member sees it; non-members
 * and repeats are left out, and an unknown conversation gives none. The
 * members, the last message and the unread messages (unreadCounts) are read
 * once for every user.
 */
export function readMemberViews(s: Statements, conversationId: string, userIds: readonly string[]): MemberView[] {
  const row = s.getConversation.get(conversationId);
  if (!row) return [];
  const rows = s.getMembers.all(conversationId);
  const byUser = new Map(rows.map((m) => [m.user_id, m]));
  const lastMessage = readLastMessage(s, row);
  // Shared by every view: they are only encoded, never changed.
  const members = rows.map(memberOfView);
  const wanted: MemberRow[] = [];
  for (const userId of new Set(userIds)) {
    const member = byUser.get(userId);
    if (member) wanted.push(member);
  }
  const counts = unreadCounts(s, row.id, row.last_seq, wanted.map((m) => ({ userId: m.user_id, readSeq: m.read_seq })));
  return wanted.map((m) => ({ userId: m.user_id, view: toView(s, row, members, lastMessage, m, m.user_id, counts.get(m.user_id)) }));
}

function readLastMessage(s: Statements, row: ConversationRow): ChatMessage | undefined {
  const last = row.last_seq > 0 ? s.getMessage.get(row.id, row.last_seq) : undefined;
  if (!last) return undefined;
  return resolveQuotesSync([toMessage(last)], (seq) => readOne(s, row.id, seq))[0];
}

/**
 * The view of one member, whose marks are `marks`; unread leaves out the
 * member's own and deleted messages. `known`: the counts read already.
 */
function toView(
  s: Statements,
  row: ConversationRow,
  members: Conversation['members'],
  lastMessage: ChatMessage | undefined,
  marks: { read_seq: number; delivered_seq: number },
  userId: string,
  known?: UnreadCounts,
): Conversation {
  const counts = known ?? s.countUnread.get({ conversationId: row.id, readSeq: marks.read_seq, userId });
  return {
    id: row.id,
    kind: row.kind,
    title: row.title ?? undefined,
    members,
    createdAt: row.created_at,
    lastSeq: row.last_seq,
    lastMessage,
    readSeq: marks.read_seq,
    deliveredSeq: marks.delivered_seq,
    unread: counts?.unread ?? 0,
    mentions: counts?.mentions || undefined,
    changeSeq: row.change_seq,
  };
}

/** A member as views list them: with their receipt marks, so clients can show who read what. */
function memberOfView(m: MemberRow): Member {
  return { userId: m.user_id, role: m.role, readSeq: m.read_seq, deliveredSeq: m.delivered_seq };
}
