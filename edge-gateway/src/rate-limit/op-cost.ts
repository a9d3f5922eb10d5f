import type { ImplementedOp, OpArgs } from '@chat/proto';

/**
 * Members per token for a group create or add_members: each started 10
 * members cost one token on top of the frame's own, so a 50-member group
 * costs 6 and the largest the default limits allow (1000 members, the
 * creator included) costs 101. Why 10: a member added makes the server write
 * a membership row and publish one event, less event-loop work than a whole
 * request (no frame to parse, no reply); and the largest group must stay
 * within the default burst of 200, so its creator can post right after
 * creating it. One session is then held to one 1000-member create every 2 s
 * at the default 50 tokens/s, against 45 a second before (issue 12, item 5;
 * measured with bench/src/group-flood.ts). One token per member was tried:
 * it throttles harder but leaves a 16 s debt after any 1000-member create.
 */
export const MEMBERS_PER_TOKEN = 10;

/**
 * Messages of a page (`limit`) per extra token for the ops that read pages of
 * messages, conversations or members (and users asked for by id, user.get): a page of 25 costs a token on top of the
 * frame's own. Reads are cheaper than writes (no fsync), but a full page is
 * a large reply to build and send.
 */
export const PAGE_ITEMS_PER_TOKEN = 25;

/**
 * What an op is charged to the user's token bucket, from its validated
 * arguments: 1 for an ordinary op, more for the ops whose work grows with
 * their arguments. An op costing more than the bucket's burst is still
 * possible: it runs from a full bucket and leaves a debt (TokenBucket).
 */
export function opCost<K extends ImplementedOp>(op: K, args: OpArgs<K>): number {
  switch (op) {
    case 'conversation.create_group':
      return 1 + Math.ceil((args as OpArgs<'conversation.create_group'>).members.length / MEMBERS_PER_TOKEN);
    case 'conversation.add_members':
      return 1 + Math.ceil((args as OpArgs<'conversation.add_members'>).userIds.length / MEMBERS_PER_TOKEN);
    case 'message.history':
    case 'message.thread':
    case 'message.search':
    case 'sync':
    case 'conversation.list':
    case 'conversation.members':
      return 1 + Math.floor((args as { limit: number }).limit / PAGE_ITEMS_PER_TOKEN);
    case 'user.get':
      return 1 + Math.floor((args as OpArgs<'user.get'>).userIds.length / PAGE_ITEMS_PER_TOKEN);
    default:
      return 1;
  }
}
