import type { types } from 'cassandra-driver';
import type { Role } from '../store.js';
import type { HeadRow } from './scylla-rows.js';
import { type ScyllaSession, type Statement, num, stmt } from './scylla-session.js';

// member_summary (migration 0009): what a bounded view needs besides a slice
// of `members`, kept by the one writer of a conversation's membership, its
// actor, in the logged batch of each change (DESIGN.md, "Bounded views").

/** A conversation's owner and admins and its member count, as member_summary holds them. */
export interface MemberSummary {
  memberCount: number;
  /** The owner and the admins, in no particular order. */
  privileged: { userId: string; role: Role }[];
}

/** Whether a role is listed in member_summary (the roles a bounded view puts first). */
export function isPrivileged(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}

/**
 * The summary a view may use, or null when it must read the members
 * instead: no summary (a conversation from before version 9 that `chat
 * migrate` has not counted yet), or one `chat migrate` counted while the
 * head's change_seq has moved since (a host of the previous build may have
 * changed the membership without keeping the summary; an edit also moves it,
 * which costs that conversation the slow read until its next membership change).
 * From the rows of getSummary, read alongside the head.
 */
export function toSummary(rows: readonly types.Row[], head: HeadRow): MemberSummary | null {
  const first = rows[0];
  if (!first || first['member_count'] === null || first['member_count'] === undefined) return null;
  const mark = first['backfill_change_seq'];
  if (mark !== null && mark !== undefined && num(mark) !== head.changeSeq) return null;
  const privileged = rows.flatMap((r) => {
    const userId = r['user_id'] as string | null;
    return userId ? [{ userId, role: r['role'] as Role }] : [];
  });
  return { memberCount: num(first['member_count']), privileged };
}

/**
 * The statements that make the summary say `final` (every member after a
 * change, with its role): the count, a row per owner and admin, and the
 * delete of every row `stored` lists that is no longer one (demoted or gone).
 * Every privileged row is written, not only the changed ones, so a change
 * also repairs a summary a former build let go stale. The count clears a
 * backfill's mark, unless `backfillMark` (chat migrate's: the head's
 * change_seq when it read the members) is given.
 */
export function summaryStatements(
  conversationId: string,
  final: ReadonlyMap<string, { role: Role }>,
  stored: readonly { userId: string }[],
  backfillMark?: number,
): Statement[] {
  const count =
    backfillMark === undefined ? stmt('putSummaryCount', [final.size, conversationId]) : stmt('backfillSummaryCount', [final.size, backfillMark, conversationId]);
  const out: Statement[] = [count];
  for (const { userId } of stored) {
    const m = final.get(userId);
    if (!m || !isPrivileged(m.role)) out.push(stmt('dropSummaryRole', [conversationId, userId]));
  }
  for (const [userId, m] of final) if (isPrivileged(m.role)) out.push(stmt('putSummaryRole', [conversationId, userId, m.role]));
  return out;
}

/** The summary rows stored for a conversation, whatever their state (for summaryStatements' deletes). */
export async function storedSummaryRoles(s: ScyllaSession, conversationId: string): Promise<{ userId: string }[]> {
  return summaryRoles(await s.allRows('getSummary', [conversationId]));
}

/** The users the rows of getSummary list (the static-only row of a summary without one lists none). */
export function summaryRoles(rows: readonly types.Row[]): { userId: string }[] {
  return rows.flatMap((r) => (r['user_id'] ? [{ userId: r['user_id'] as string }] : []));
}
