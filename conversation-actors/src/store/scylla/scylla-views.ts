import type { types } from 'cassandra-driver';
import { type ChatMessage, type Conversation, type Member, boundView, firstInViewOrder } from '@chat/proto';
import type { MemberView } from '../store.js';
import { type HeadRow, sortMembers, toMembers } from './scylla-rows.js';
import { readHead, readMembers, readQuotedMessage } from './scylla-reads.js';
import { type ScyllaSession, num } from './scylla-session.js';
import { toSummary } from './scylla-summary.js';
import { type UnreadCount, unreadCounts } from './scylla-unread.js';

// Conversation views: every member's at once (a membership change's
// fan-out), or one user's bounded to VIEW_MEMBERS members (DESIGN.md,
// "Bounded views").

/** Clustering keys per `IN` of receiptsOf. */
const IN_KEYS = 100;

/** The view of a member whose marks are `me`; `members` may be shared by every view of one read (only encoded, never changed). */
function toView(head: HeadRow, members: Conversation['members'], lastMessage: ChatMessage | undefined, me: { readSeq: number; deliveredSeq: number }, counts: UnreadCount): Conversation {
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

function lastMessageOf(s: ScyllaSession, head: HeadRow): Promise<ChatMessage | undefined> {
  return head.lastSeq > 0 ? readQuotedMessage(s, head.id, head.lastSeq) : Promise.resolve(undefined);
}

/**
 * The conversation as each of `userIds` that is a member sees it (members,
 * receipts, the last message and one unread scan shared by all); none if the
 * conversation is unknown. Reads the whole members and receipts partitions:
 * every member's view lists every member. `knownHead` saves the head read.
 */
export async function readMemberViews(s: ScyllaSession, conversationId: string, userIds: readonly string[], knownHead?: HeadRow): Promise<MemberView[]> {
  const [head, members] = await Promise.all([knownHead ?? readHead(s, conversationId), readMembers(s, conversationId)]);
  if (!head) return [];
  const sorted = sortMembers(members);
  const byUser = new Map(sorted.map((m) => [m.userId, m]));
  const wanted = [...new Set(userIds)].flatMap((u) => {
    const m = byUser.get(u);
    return m ? [m] : [];
  });
  if (wanted.length === 0) return [];
  const [lastMessage, unread] = await Promise.all([lastMessageOf(s, head), unreadCounts(s, head, wanted)]);
  // One list for every view: a copy per view was quadratic in the group's size (10^10 entries at 100,000 members).
  const listed = sorted.map((m) => ({ userId: m.userId, role: m.role, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq }));
  return wanted.map((me) => ({ userId: me.userId, view: toView(head, listed, lastMessage, me, unread.get(me.userId) ?? { unread: 0, mentions: 0 }) }));
}

/**
 * The conversation as `userId` sees it with its members bounded as proto's
 * boundView bounds them (memberCount set), or undefined if it is unknown or
 * the user is not a member. Reads, at once: the head (unless known), the
 * member_summary partition (count, owner, admins), the first `limit` rows of
 * the members partition (clustered by user id), the viewer's member row and
 * receipt; then the receipts of the members listed (one IN on one partition),
 * the last message and the viewer's unread scan. Nothing proportional to the
 * group. A conversation without a usable summary (from before schema version
 * 9, not yet counted) is read whole and bounded in memory: same answer, old cost.
 */
export async function readBoundedView(s: ScyllaSession, conversationId: string, userId: string, limit: number, knownHead?: HeadRow): Promise<Conversation | undefined> {
  const [head, summaryRows, slice, viewerRow, viewerMarks] = await Promise.all([
    knownHead ?? readHead(s, conversationId),
    s.allRows('getSummary', [conversationId]),
    s.rows('memberPage', [conversationId, '', limit]),
    s.row('memberRow', [conversationId, userId]),
    s.row('getReceipt', [conversationId, userId]),
  ]);
  if (!head) return undefined;
  const summary = toSummary(summaryRows, head);
  if (!summary) {
    const whole = (await readMemberViews(s, conversationId, [userId], head))[0]?.view;
    return whole ? boundView(whole, userId, limit) : undefined;
  }
  if (!viewerRow) return undefined;
  const me = { readSeq: viewerMarks ? num(viewerMarks['read_seq']) : 0, deliveredSeq: viewerMarks ? num(viewerMarks['delivered_seq']) : 0 };
  const [members, lastMessage, counts] = await Promise.all([
    summary.memberCount <= limit ? wholeSmallGroup(s, conversationId, slice) : firstMembers(s, conversationId, { slice, privileged: summary.privileged, viewerRow, limit }),
    lastMessageOf(s, head),
    unreadCounts(s, head, [{ userId, readSeq: me.readSeq }]),
  ]);
  return { ...toView(head, members, lastMessage, me, counts.get(userId) ?? { unread: 0, mentions: 0 }), memberCount: summary.memberCount };
}

/** A group of at most `limit`: the slice holds every member; listed in the order of a whole view, (joinedAt, userId). */
async function wholeSmallGroup(s: ScyllaSession, conversationId: string, slice: readonly types.Row[]): Promise<Member[]> {
  if (slice.length === 0) return [];
  const first = slice[0]!['user_id'] as string;
  const last = slice[slice.length - 1]!['user_id'] as string;
  const receipts = await s.allRows('receiptRange', [conversationId, first, last]);
  return sortMembers(toMembers([...slice], receipts)).map((m) => ({ userId: m.userId, role: m.role, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq }));
}

/**
 * A big group's first `limit` members in view order: the owner and admins
 * (from the summary) by user id, then the plain members of the slice (the
 * first by user id), the viewer in the last place if not among them; with
 * their marks from one read of those receipt rows.
 */
async function firstMembers(
  s: ScyllaSession,
  conversationId: string,
  read: { slice: readonly types.Row[]; privileged: readonly { userId: string; role: string }[]; viewerRow: types.Row; limit: number },
): Promise<Member[]> {
  const member = (r: types.Row): Member => ({ userId: r['user_id'] as string, role: r['role'] as string, readSeq: 0, deliveredSeq: 0 });
  // Every owner and admin, and the first members by user id: the first `limit` in view order are among them.
  const isPrivileged = new Set(read.privileged.map((p) => p.userId));
  const candidates: Member[] = [
    ...read.privileged.map((p) => ({ userId: p.userId, role: p.role, readSeq: 0, deliveredSeq: 0 })),
    ...read.slice.filter((r) => !isPrivileged.has(r['user_id'] as string)).map(member),
  ];
  // The view rule's own order (proto's view-members.ts), the viewer in the last place if not among them.
  let first = firstInViewOrder(candidates, read.limit);
  const viewer = member(read.viewerRow);
  if (!first.some((m) => m.userId === viewer.userId)) first = [...first.slice(0, read.limit - 1), viewer];
  // At most IN_KEYS clustering keys per IN: ScyllaDB refuses more than 100 by default (max_clustering_key_restrictions_per_query).
  const ids = first.map((m) => m.userId);
  const parts = Array.from({ length: Math.ceil(ids.length / IN_KEYS) }, (_, i) => ids.slice(i * IN_KEYS, (i + 1) * IN_KEYS));
  const rows = (await Promise.all(parts.map((part) => s.rows('receiptsOf', [conversationId, part])))).flat();
  const marks = new Map(rows.map((r) => [r['user_id'] as string, r]));
  return first.map((m) => {
    const r = marks.get(m.userId);
    return r ? { ...m, readSeq: num(r['read_seq']), deliveredSeq: num(r['delivered_seq']) } : m;
  });
}
