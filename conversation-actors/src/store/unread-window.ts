// Counting unread messages and mentions for many members at once, from one
// read of the messages after the lowest read mark: the same algorithm for
// every store (SQLite's sqlite-unread.ts, Scylla's scylla-unread.ts), which
// each read their rows their own way.

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
