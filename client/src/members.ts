import type { Op, OpArgs, OpResults } from './types.js';

/** What sends protocol requests: a Connection, or anything with its `request`. */
export interface Requester {
  request<K extends Op>(op: K, args: OpArgs<K>): Promise<OpResults[K]>;
}

/** A page of conversation.members (protocol extension, docs/protocol.md "Member paging"). */
export type MemberPage = OpResults['conversation.members'];
/** A member as views and pages list them: role and, where known, receipt marks. */
export type Member = MemberPage['members'][number];

/** Where a page starts (`after`: the previous page's `next`; absent or null: the first page) and how long it is (default 100, at most 500). */
export interface MemberPageArgs {
  after?: string | null | undefined;
  limit?: number | undefined;
}

/**
 * One page of a conversation's members, by ascending user id, with the cursor
 * of the next page (`next`, null on the last). Members only: anyone else gets
 * `forbidden`. A view's `members` is bounded (`membersTruncated`); this is
 * how a client reads the rest.
 */
export function members(requester: Requester, conversationId: string, page: MemberPageArgs = {}): Promise<MemberPage> {
  const args: OpArgs<'conversation.members'> = { conversationId };
  if (page.after) args.after = page.after;
  if (page.limit !== undefined) args.limit = page.limit;
  return requester.request('conversation.members', args);
}

/**
 * Every member, following `next` to the last page (each member once, by user
 * id). `max` stops early (the result then holds at least `max` members, or
 * all): a caller showing a list needs no more than it shows.
 */
export async function allMembers(requester: Requester, conversationId: string, options: { pageSize?: number; max?: number } = {}): Promise<Member[]> {
  const out: Member[] = [];
  let after: string | null = null;
  do {
    const page: MemberPage = await members(requester, conversationId, { after, limit: options.pageSize });
    out.push(...page.members);
    after = page.next;
  } while (after !== null && (options.max === undefined || out.length < options.max));
  return out;
}
