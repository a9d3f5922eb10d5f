import type { Statements } from './sqlite-statements.js';
import { type UnreadCount, type UnreadRow, countUnread } from '../unread-window.js';

/** Unread messages and unread mentions of one member (the countUnread statement's figures). */
export type UnreadCounts = UnreadCount;

/**
 * Most seqs one shared read of the unread messages covers. Members whose read
 * mark is further back are counted by the countUnread statement one by one,
 * so memory stays bounded whatever the history's length.
 */
export const UNREAD_WINDOW_SEQS = 100_000;

/**
 * Below this many members behind, each is counted by the countUnread
 * statement (an indexed range counted inside SQLite) rather than from one
 * shared read into JavaScript, which is cheaper for a few members behind a
 * long history (one view, a small group) and dearer for many.
 */
export const SHARED_READ_FROM_MEMBERS = 8;

/**
 * Each member's unread and mention counts in one conversation, exactly as
 * the countUnread statement counts them for that member (messages after the
 * member's read mark, not their own, not deleted; mentions: of those, the
 * ones naming the member, '@all' or '@here'), from ONE read of the messages
 * after the lowest read mark (within UNREAD_WINDOW_SEQS of `lastSeq`)
 * instead of one range scan per member: a membership change of a
 * 100,000-member group counts for every member, and per member that was
 * most of its time (bench/README.md). Run inside the caller's read
 * transaction, so every count comes from the same snapshot.
 */
export function unreadCounts(
  s: Statements,
  conversationId: string,
  lastSeq: number,
  members: readonly { userId: string; readSeq: number }[],
  windowSeqs = UNREAD_WINDOW_SEQS,
  sharedFrom = SHARED_READ_FROM_MEMBERS,
): Map<string, UnreadCounts> {
  const counts = new Map<string, UnreadCounts>();
  const windowStart = Math.max(0, lastSeq - windowSeqs);
  const one = (m: { userId: string; readSeq: number }) => {
    const c = s.countUnread.get({ conversationId, readSeq: m.readSeq, userId: m.userId });
    counts.set(m.userId, { unread: c?.unread ?? 0, mentions: c?.mentions ?? 0 });
  };
  const shared: { userId: string; readSeq: number }[] = [];
  for (const m of members) {
    if (m.readSeq >= lastSeq) counts.set(m.userId, { unread: 0, mentions: 0 });
    else if (m.readSeq < windowStart) one(m);
    else shared.push(m);
  }
  if (shared.length < sharedFrom) {
    for (const m of shared) one(m);
    return counts;
  }
  let lowest = lastSeq;
  for (const m of shared) lowest = Math.min(lowest, m.readSeq);
  // The statement leaves deleted messages out; every row after `lowest` is read, so nothing is counted unseen.
  const rows: UnreadRow[] = [];
  for (const [seq, senderId, mentions] of s.unreadRows.iterate(conversationId, lowest)) {
    rows.push({ seq, senderId, deleted: false, mentions: mentions === null ? undefined : mentionedIn(mentions) });
  }
  for (const [userId, c] of countUnread(rows, lowest + 1, shared)) counts.set(userId, c);
  return counts;
}

/** The string values of a stored mentions array (json_each's values, as countUnread compares them). */
function mentionedIn(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  const values = Array.isArray(parsed) ? parsed : parsed !== null && typeof parsed === 'object' ? Object.values(parsed) : [parsed];
  return values.filter((v): v is string => typeof v === 'string');
}
