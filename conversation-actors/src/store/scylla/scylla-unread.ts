import { bucketRanges } from './scylla-buckets.js';
import type { HeadRow } from './scylla-rows.js';
import { type ScyllaSession, num } from './scylla-session.js';

/**
 * Unread counts look at most this many of the newest unread messages one by
 * one (three small columns each); older unread ones are counted without
 * looking (own and deleted ones included), so a huge backlog costs one bounded read.
 */
export const UNREAD_EXACT_WINDOW = 1000;

/** One message of the unread window: what counting needs of it. */
export interface UnreadRow {
  seq: number;
  senderId: string;
  deleted: boolean;
  mentions: readonly string[] | undefined;
}

export interface UnreadCount {
  unread: number;
  mentions: number;
}

/** The messages after `afterSeq` up to lastSeq, newest UNREAD_EXACT_WINDOW only, ascending; `from` is the first seq looked at. */
async function unreadRows(s: ScyllaSession, conversationId: string, afterSeq: number, lastSeq: number): Promise<{ from: number; rows: UnreadRow[] }> {
  const from = Math.max(afterSeq + 1, lastSeq - UNREAD_EXACT_WINDOW + 1, 1);
  const rows: UnreadRow[] = [];
  for (const part of bucketRanges(from, lastSeq)) {
    const got = await s.allRows('unreadScan', [conversationId, part.bucket, part.from, part.to]);
    for (const r of got) {
      const mentions = r['mentions'] as string | null | undefined;
      rows.push({ seq: num(r['seq']), senderId: r['sender_id'] as string, deleted: r['deleted'] === true, mentions: mentions ? (JSON.parse(mentions) as string[]) : undefined });
    }
  }
  return { from, rows };
}

/** How many of the ascending `seqs` are above `after` (binary search). */
function countAbove(seqs: readonly number[], after: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return seqs.length - lo;
}

function push(index: Map<string, number[]>, key: string, seq: number): void {
  const list = index.get(key);
  if (list) list.push(seq);
  else index.set(key, [seq]);
}

/**
 * Each member's unread count and unread mentions, from the window rows
 * (ascending seq, starting at `from`): messages after the member's readSeq,
 * not their own, not deleted; the ones between the mark and `from` counted
 * without looking (their mentions not at all). One pass over the window
 * builds sorted seq lists (every counted message; per sender; those
 * mentioning everyone, per sender; those naming a member, per member), then
 * each member costs a few binary searches: O(window + members × log window),
 * not members × window.
 */
export function countUnread(rows: readonly UnreadRow[], from: number, marks: readonly { userId: string; readSeq: number }[]): Map<string, UnreadCount> {
  const live: number[] = [];
  const bySender = new Map<string, number[]>();
  const broadcast: number[] = [];
  const broadcastBySender = new Map<string, number[]>();
  // A message naming the member (and not everyone), by someone else: counted once per named member.
  const named = new Map<string, number[]>();
  for (const r of rows) {
    if (r.deleted) continue;
    live.push(r.seq);
    push(bySender, r.senderId, r.seq);
    if (!r.mentions) continue;
    if (r.mentions.some((x) => x === '@all' || x === '@here')) {
      broadcast.push(r.seq);
      push(broadcastBySender, r.senderId, r.seq);
    } else {
      for (const userId of new Set(r.mentions)) if (userId !== r.senderId) push(named, userId, r.seq);
    }
  }
  const counts = new Map<string, UnreadCount>();
  for (const m of marks) {
    const unseen = Math.max(0, from - (m.readSeq + 1));
    const unread = unseen + countAbove(live, m.readSeq) - countAbove(bySender.get(m.userId) ?? [], m.readSeq);
    const mentions =
      countAbove(broadcast, m.readSeq) - countAbove(broadcastBySender.get(m.userId) ?? [], m.readSeq) + countAbove(named.get(m.userId) ?? [], m.readSeq);
    counts.set(m.userId, { unread, mentions });
  }
  return counts;
}

/**
 * Unread count of each user, from one scan starting after the lowest read
 * mark: messages after the user's readSeq, not the user's own, not deleted
 * (exact within the newest UNREAD_EXACT_WINDOW; older ones counted as a whole).
 */
export async function unreadCounts(s: ScyllaSession, head: HeadRow, marks: readonly { userId: string; readSeq: number }[]): Promise<Map<string, UnreadCount>> {
  const counts = new Map<string, UnreadCount>();
  const pending = marks.filter((m) => m.readSeq < head.lastSeq);
  for (const m of marks) counts.set(m.userId, { unread: 0, mentions: 0 });
  if (pending.length === 0) return counts;
  // A loop, not Math.min(...): a spread of 100,000 marks can overflow the stack.
  let lowest = head.lastSeq;
  for (const m of pending) lowest = Math.min(lowest, m.readSeq);
  const { from, rows } = await unreadRows(s, head.id, lowest, head.lastSeq);
  for (const [userId, c] of countUnread(rows, from, pending)) counts.set(userId, c);
  return counts;
}
