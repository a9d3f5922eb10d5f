import { bucketRanges } from './scylla-buckets.js';
import type { HeadRow } from './scylla-rows.js';
import { type ScyllaSession, num } from './scylla-session.js';
import { type UnreadCount, type UnreadRow, countUnread } from '../unread-window.js';

export type { UnreadCount };

/**
 * Unread counts look at most this many of the newest unread messages one by
 * one (three small columns each); older unread ones are counted without
 * looking (own and deleted ones included), so a huge backlog costs one bounded read.
 */
export const UNREAD_EXACT_WINDOW = 1000;

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
