import type { Conversation, Member } from './gen/chat/v1/model.js';

/**
 * Which members a conversation view carries (docs/protocol.md, "Member
 * paging"). A view lists every member while the group has at most
 * `limit` (the deployment's viewMembers) of them, in the order the store
 * gives. A larger group's view is bounded to `limit` entries: the members in
 * view order (the owner, then the admins, then everyone else; by user id
 * within each), cut at `limit`, and when the viewer is not among them, the
 * viewer takes the last place. So every view shows its viewer and who runs
 * the group, every viewer outside the first `limit` sees the same others,
 * and the gateway can render each member's frame from one shared list
 * (memberViewFrames) instead of a list per member.
 */

const RANKS: Readonly<Record<string, number>> = { owner: 0, admin: 1 };

/** View order: the owner, the admins, then the rest; by user id (code units) within each. */
export function compareViewOrder(a: Member, b: Member): number {
  const rank = (RANKS[a.role] ?? 2) - (RANKS[b.role] ?? 2);
  if (rank !== 0) return rank;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}

/**
 * The first `limit` members in view order, in that order. One pass that keeps
 * the best `limit` seen so far: O(n log limit) comparisons in the worst case
 * and about n in the usual one (most members lose to the kept last at once),
 * not a sort of a 100,000-member list per view.
 */
export function firstInViewOrder(members: readonly Member[], limit: number): Member[] {
  const kept: Member[] = [];
  if (limit <= 0) return kept;
  for (const m of members) {
    if (kept.length === limit && compareViewOrder(m, kept[limit - 1]!) >= 0) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareViewOrder(kept[mid]!, m) <= 0) lo = mid + 1;
      else hi = mid;
    }
    kept.splice(lo, 0, m);
    if (kept.length > limit) kept.pop();
  }
  return kept;
}

/**
 * The members a view shows `viewerId`: all of them, as given, when there are
 * at most `limit`; else firstInViewOrder(limit), with the viewer (when a
 * member) in the last place if not already in.
 */
export function boundedMembers(members: readonly Member[], viewerId: string | undefined, limit: number): Member[] {
  if (members.length <= limit) return [...members];
  const first = firstInViewOrder(members, limit);
  if (viewerId === undefined || first.some((m) => m.userId === viewerId)) return first;
  const viewer = members.find((m) => m.userId === viewerId);
  return viewer ? [...first.slice(0, limit - 1), viewer] : first;
}

/**
 * `view` as `viewerId` receives it: its members bounded (boundedMembers) and
 * memberCount set to how many it has. `viewerId` undefined: the list every
 * viewer shares, before each gets their own place (ConversationViews.shared).
 * A view already bounded (memberCount set) is returned as it is.
 */
export function boundView(view: Conversation, viewerId: string | undefined, limit: number): Conversation {
  if (view.memberCount !== undefined) return view;
  return { ...view, members: boundedMembers(view.members, viewerId, limit), memberCount: view.members.length };
}
