import type { Statements } from './sqlite-statements.js';

/** Unread messages and unread mentions of one member (the countUnread statement's figures). */
export interface UnreadCounts {
  unread: number;
  mentions: number;
}

/**
 * Most seqs one shared read of the unread messages covers. Members whose read
 * mark is further back are counted by the countUnread statement one by one,
 * so memory stays bounded whatever the history's length.
 */
export const UNREAD_WINDOW_SEQS = 100_000;

const BROADCASTS = new Set(['@all', '@here']);

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
  const window = readWindow(s, conversationId, lowest);
  for (const m of shared) {
    const after = (seqs: readonly number[] | undefined) => (seqs ? seqs.length - upperBound(seqs, m.readSeq) : 0);
    const unread = after(window.seqs) - after(window.bySender.get(m.userId));
    const broadcasts = after(window.broadcasts) - after(window.broadcastsBy.get(m.userId));
    let named = 0;
    for (const r of window.naming.get(m.userId) ?? []) if (r.seq > m.readSeq && r.senderId !== m.userId) named++;
    counts.set(m.userId, { unread, mentions: broadcasts + named });
  }
  return counts;
}

/** The counted messages after `afterSeq`, indexed for counting per member: every list in ascending seq. */
interface Window {
  seqs: number[];
  bySender: Map<string, number[]>;
  /** Messages mentioning '@all' or '@here', and the same by sender. */
  broadcasts: number[];
  broadcastsBy: Map<string, number[]>;
  /** Messages naming a member (and not '@all' or '@here', which count already), by the member named. */
  naming: Map<string, { seq: number; senderId: string }[]>;
}

function readWindow(s: Statements, conversationId: string, afterSeq: number): Window {
  const w: Window = { seqs: [], bySender: new Map(), broadcasts: [], broadcastsBy: new Map(), naming: new Map() };
  for (const [seq, senderId, mentions] of s.unreadRows.iterate(conversationId, afterSeq)) {
    w.seqs.push(seq);
    push(w.bySender, senderId, seq);
    if (mentions === null) continue;
    const named = mentionedIn(mentions);
    if (named.some((x) => BROADCASTS.has(x))) {
      w.broadcasts.push(seq);
      push(w.broadcastsBy, senderId, seq);
      continue;
    }
    for (const userId of new Set(named)) push(w.naming, userId, { seq, senderId });
  }
  return w;
}

/** The string values of a stored mentions array (json_each's values, as countUnread compares them). */
function mentionedIn(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  const values = Array.isArray(parsed) ? parsed : parsed !== null && typeof parsed === 'object' ? Object.values(parsed) : [parsed];
  return values.filter((v): v is string => typeof v === 'string');
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** How many of the ascending `seqs` are <= `seq`. */
function upperBound(seqs: readonly number[], seq: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
