import { type ListMembers, MAX_MEMBERS_LIMIT, type MemberPage } from '@chat/proto';
import type { ChatStore } from '../store/store.js';
import { BadRequestError } from '../errors.js';

/**
 * conversation.members (docs/protocol.md, "Member paging"): a page of the
 * members by ascending user id, each with role and receipt marks, and the
 * cursor of the next page: the page's last user id, absent once no member
 * follows. Reads one more than `limit` to know whether one does, so the last
 * page never needs an empty page after it. The caller checks membership.
 */
export async function readMemberPage(store: ChatStore, conversationId: string, page: ListMembers): Promise<MemberPage> {
  const { after, limit } = page;
  // The gateway checks this too; the actor is the last line for any bus client.
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MEMBERS_LIMIT) throw new BadRequestError(`limit must be 1 to ${MAX_MEMBERS_LIMIT}`);
  const rows = await store.listMembers(conversationId, { after: after || undefined, limit: limit + 1 });
  const kept = rows.length > limit ? rows.slice(0, limit) : rows;
  return {
    members: kept.map((m) => ({ userId: m.userId, role: m.role, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq })),
    next: rows.length > limit ? kept[kept.length - 1]!.userId : undefined,
  };
}
