import type { ImplementedOp, OpArgs } from '@chat/proto';

/**
 * Tokens per member a group create or add_members lists. A member added costs
 * what a message send costs, because it makes the server do about as much: a
 * row written and an event published to that member (and, while group events
 * list every member, more). On the standalone server a 50-member create takes
 * ~4 ms and a 999-member one ~130 ms of the event loop every user shares, so
 * at the default 50 tokens/s one session can hold it with creates for under 1%
 * of the time: a 999-member create every 20 s, a 50-member one about every second.
 */
export const TOKENS_PER_MEMBER = 1;

/**
 * Messages of a page (`limit`) per extra token for the ops that read pages of
 * messages or conversations: a page of 25 costs a token on top of the
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
      return 1 + (args as OpArgs<'conversation.create_group'>).members.length * TOKENS_PER_MEMBER;
    case 'conversation.add_members':
      return 1 + (args as OpArgs<'conversation.add_members'>).userIds.length * TOKENS_PER_MEMBER;
    case 'message.history':
    case 'sync':
    case 'conversation.list':
      return 1 + Math.floor((args as { limit: number }).limit / PAGE_ITEMS_PER_TOKEN);
    default:
      return 1;
  }
}
